package retail.serving;

import com.datastax.oss.driver.api.core.CqlSession;
import com.datastax.oss.driver.api.core.CqlSessionBuilder;
import com.datastax.oss.driver.api.core.config.DefaultDriverOption;
import com.datastax.oss.driver.api.core.config.DriverConfigLoader;
import com.datastax.oss.driver.api.core.cql.BatchStatement;
import com.datastax.oss.driver.api.core.cql.BatchStatementBuilder;
import com.datastax.oss.driver.api.core.cql.BoundStatement;
import com.datastax.oss.driver.api.core.cql.DefaultBatchType;
import com.datastax.oss.driver.api.core.cql.PreparedStatement;
import com.datastax.oss.driver.api.core.cql.Statement;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.FileInputStream;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.apache.spark.sql.ForeachWriter;
import org.apache.spark.sql.Row;

/**
 * The fresh path's writer: each row of a streaming query goes to its entity's Cassandra tables as soon as the task
 * reads it. Rows arrive in the shape the Python side makes them ({@code spark.silver.serving.fresh_rows}): the
 * entity, the bound columns of its serving tables, {@code write_timestamp} (null: the row failed its rules and is skipped)
 * and {@code produced_ms}. Writes are idempotent (a replay rewrites the same cells at the same timestamps), so the
 * query is at-least-once and the table exactly what silver would write.
 *
 * <p>Per task: rows are grouped per partition key into unlogged batches, sent asynchronously with at most
 * {@code max_in_flight} requests outstanding (the task blocks beyond: back pressure), and flushed when
 * {@code batch_rows} wait or {@code flush_ms} after the first of them began to wait, whichever comes first (a task with
 * nothing waiting has no timer). {@link #close} waits for every
 * acknowledgement and fails the task on any error, so an epoch commits only what Cassandra holds. Every
 * {@code progress_s} a task records its freshness in {@code serving_progress}: how long its rows took from their
 * producer to Cassandra's acknowledgement. One session per executor JVM, shared by its tasks.
 */
public final class CassandraSink extends ForeachWriter<Row> {
  private static final long serialVersionUID = 1L;
  private static final Map<String, CqlSession> SESSIONS = new ConcurrentHashMap<>();
  private static final ScheduledExecutorService TIMER =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread thread = new Thread(r, "retail-serving-flush");
            thread.setDaemon(true);
            return thread;
          });

  private final String config;
  private transient TaskWriter writer;

  /** {@code config}: JSON made by {@code spark.silver.serving.sink_config}. */
  public CassandraSink(String config) {
    this.config = config;
  }

  @Override
  public boolean open(long partitionId, long epochId) {
    writer = new TaskWriter(Config.parse(config), partitionId);
    return true;
  }

  @Override
  public void process(Row row) {
    writer.add(row);
  }

  @Override
  public void close(Throwable error) {
    if (writer != null) {
      TaskWriter closing = writer;
      writer = null;
      closing.close(error == null);
    }
  }

  /** What the Python side says: where to write, each entity's tables, and the writer's limits. */
  static final class Config {
    String key;
    List<InetSocketAddress> contactPoints = new ArrayList<>();
    String datacenter, keyspace, username, password, caFile, query, progressCql;
    int batchRows, maxInFlight;
    long flushMs, progressMs;
    Map<String, List<Entity>> entities = new HashMap<>();

    static Config parse(String json) {
      try {
        JsonNode root = new ObjectMapper().readTree(json);
        Config c = new Config();
        for (JsonNode host : root.get("hosts")) {
          c.contactPoints.add(new InetSocketAddress(host.asText(), root.get("port").asInt()));
        }
        c.datacenter = root.get("datacenter").asText();
        c.keyspace = root.get("keyspace").asText();
        c.username = text(root, "username");
        c.password = text(root, "password");
        c.caFile = text(root, "ca_file");
        // One session per cluster and role in an executor JVM, whatever keyspace or table a query writes.
        c.key = String.join("|", root.get("hosts").toString(), root.get("port").asText(), c.datacenter,
            String.valueOf(c.username), String.valueOf(c.password == null ? 0 : c.password.hashCode()),
            String.valueOf(c.caFile));
        c.query = root.get("query").asText();
        c.progressCql = root.get("progress_cql").asText();
        c.batchRows = root.get("batch_rows").asInt();
        c.maxInFlight = root.get("max_in_flight").asInt();
        c.flushMs = root.get("flush_ms").asLong();
        c.progressMs = Math.round(root.get("progress_s").asDouble() * 1000);
        root.get("entities")
            .properties()
            .forEach(
                e -> {
                  List<Entity> tables = new ArrayList<>();
                  for (JsonNode table : e.getValue()) tables.add(Entity.parse(table));
                  c.entities.put(e.getKey(), tables);
                });
        return c;
      } catch (java.io.IOException e) {
        throw new IllegalArgumentException("the serving sink's configuration is not JSON: " + e, e);
      }
    }

    private static String text(JsonNode root, String field) {
      JsonNode node = root.get(field);
      return node == null || node.isNull() ? null : node.asText();
    }
  }

  /** One table of an entity: its insert (binding {@code columns}, then the write timestamp) and partition key. */
  static final class Entity {
    String insert;
    String[] columns, partitionKey;
    PreparedStatement prepared;
    int[] columnIndex, keyIndex;

    static Entity parse(JsonNode node) {
      Entity e = new Entity();
      e.insert = node.get("insert").asText();
      e.columns = strings(node.get("columns"));
      e.partitionKey = strings(node.get("partition_key"));
      return e;
    }

    private static String[] strings(JsonNode array) {
      String[] out = new String[array.size()];
      for (int i = 0; i < out.length; i++) out[i] = array.get(i).asText();
      return out;
    }
  }

  static CqlSession session(Config c) {
    return SESSIONS.computeIfAbsent(
        c.key,
        k -> {
          DriverConfigLoader loader =
              DriverConfigLoader.programmaticBuilder()
                  .withDuration(DefaultDriverOption.REQUEST_TIMEOUT, Duration.ofSeconds(30))
                  .withDuration(DefaultDriverOption.CONNECTION_INIT_QUERY_TIMEOUT, Duration.ofSeconds(15))
                  .withInt(DefaultDriverOption.CONNECTION_POOL_LOCAL_SIZE, 1)
                  .build();
          CqlSessionBuilder builder =
              CqlSession.builder()
                  .addContactPoints(c.contactPoints)
                  .withLocalDatacenter(c.datacenter)
                  .withConfigLoader(loader);
          if (c.username != null) builder = builder.withAuthCredentials(c.username, c.password);
          if (c.caFile != null) builder = builder.withSslContext(sslContext(c.caFile));
          return builder.build();
        });
  }

  private static SSLContext sslContext(String caFile) {
    try (InputStream in = new FileInputStream(caFile)) {
      KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
      store.load(null, null);
      int n = 0;
      for (Certificate cert : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
        store.setCertificateEntry("ca" + n++, cert);
      }
      TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      trust.init(store);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, trust.getTrustManagers(), null);
      return context;
    } catch (Exception e) {
      throw new IllegalArgumentException("cannot read the Cassandra CA file " + caFile + ": " + e, e);
    }
  }

  /** One task's writes: pending groups, requests in flight, the latency histogram, the first error. */
  static final class TaskWriter {
    private static final int BUCKETS = 60_001; // 1 ms buckets up to a minute, then one overflow bucket
    private static final long NOT_COUNTED = Long.MIN_VALUE;

    private final Config config;
    private final long partitionId;
    private final CqlSession session;
    private final PreparedStatement progress;
    private final Semaphore inFlight;
    private final java.util.concurrent.locks.ReentrantLock lock = new java.util.concurrent.locks.ReentrantLock();
    private final Map<List<Object>, List<Pending>> groups = new HashMap<>();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final long[] histogram = new long[BUCKETS];
    private final java.util.concurrent.ScheduledFuture<?> progressTimer;
    private int pending;
    private long oldestPendingMs, progressSinceMs, sequence, counted;
    private volatile boolean closed;

    TaskWriter(Config config, long partitionId) {
      this.config = config;
      this.partitionId = partitionId;
      this.session = session(config);
      this.inFlight = new Semaphore(config.maxInFlight);
      this.progressSinceMs = System.currentTimeMillis();
      this.progress = session.prepare(config.progressCql);
      for (List<Entity> tables : config.entities.values()) {
        for (Entity e : tables) e.prepared = session.prepare(e.insert);
      }
      this.progressTimer =
          TIMER.scheduleWithFixedDelay(
              this::progressTick, config.progressMs, config.progressMs, TimeUnit.MILLISECONDS);
    }

    void add(Row row) {
      lock.lock();
      try {
        addLocked(row);
      } finally {
        lock.unlock();
      }
    }

    private void addLocked(Row row) {
      raiseFailure();
      List<Entity> tables = config.entities.get(row.<String>getAs("entity"));
      if (tables == null) throw new IllegalArgumentException("no serving table for entity " + row.getAs("entity"));
      int stampAt = row.fieldIndex("write_timestamp");
      if (row.isNullAt(stampAt)) return; // failed its row rules: silver quarantines it, nothing to serve
      long stamp = row.getLong(stampAt);
      long produced = row.getLong(row.fieldIndex("produced_ms"));
      for (Entity entity : tables) {
        long counted = entity == tables.get(0) ? produced : NOT_COUNTED; // a row counts once, by its own table
        if (entity.columnIndex == null) resolve(entity, row);
        Object[] values = new Object[entity.columns.length + 1];
        for (int i = 0; i < entity.columns.length; i++) values[i] = cql(row.get(entity.columnIndex[i]));
        values[entity.columns.length] = stamp;
        List<Object> key = new ArrayList<>(entity.keyIndex.length + 1);
        key.add(entity.insert);
        for (int k : entity.keyIndex) key.add(row.get(k));
        groups.computeIfAbsent(key, k -> new ArrayList<>()).add(new Pending(entity.prepared.bind(values), counted));
        if (pending++ == 0) {
          oldestPendingMs = System.currentTimeMillis();
          flushLater(); // a timer only while a row waits: a quiet task costs nothing
        }
      }
      if (pending >= config.batchRows) flush(true);
    }

    private static void resolve(Entity entity, Row row) {
      int[] columns = new int[entity.columns.length];
      for (int i = 0; i < columns.length; i++) columns[i] = row.fieldIndex(entity.columns[i]);
      int[] key = new int[entity.partitionKey.length];
      for (int i = 0; i < key.length; i++) key[i] = row.fieldIndex(entity.partitionKey[i]);
      entity.keyIndex = key;
      entity.columnIndex = columns;
    }

    /** Spark's values as the driver's codecs take them. */
    private static Object cql(Object value) {
      if (value instanceof java.sql.Timestamp) return ((java.sql.Timestamp) value).toInstant();
      if (value instanceof java.sql.Date) return ((java.sql.Date) value).toLocalDate();
      return value;
    }

    private void flushLater() {
      TIMER.schedule(this::flushTick, config.flushMs, TimeUnit.MILLISECONDS);
    }

    /** The flush timer's turn, {@code flush_ms} after a row began to wait: never waits, neither for the lock (the
     * task's thread holds it while it sends) nor for a request slot, so one busy task never holds up the others'
     * flushes; what it cannot send yet gets another turn. */
    private void flushTick() {
      if (closed) return;
      if (!lock.tryLock()) {
        flushLater();
        return;
      }
      try {
        if (pending > 0) flush(false);
        if (pending > 0) flushLater();
      } catch (Throwable e) {
        failure.compareAndSet(null, e);
      } finally {
        lock.unlock();
      }
    }

    private void progressTick() {
      if (!lock.tryLock()) return;
      try {
        recordProgress();
      } catch (Throwable e) {
        failure.compareAndSet(null, e);
      } finally {
        lock.unlock();
      }
    }

    /**
     * Sends every pending group. {@code wait}: block for a free request slot (the task's thread: back pressure);
     * without it (the timer, shared by every task of the JVM) whatever finds no free slot stays pending.
     */
    private void flush(boolean wait) {
      java.util.Iterator<List<Pending>> groupsLeft = groups.values().iterator();
      while (groupsLeft.hasNext()) {
        List<Pending> group = groupsLeft.next();
        while (!group.isEmpty()) {
          List<Pending> part = group.subList(0, Math.min(group.size(), config.batchRows));
          if (wait) {
            inFlight.acquireUninterruptibly();
          } else if (!inFlight.tryAcquire()) {
            return;
          }
          send(new ArrayList<>(part));
          pending -= part.size();
          part.clear();
        }
        groupsLeft.remove();
      }
    }

    /** Sends one unlogged batch (or a lone statement); the caller holds a request slot, which its answer frees. */
    private void send(List<Pending> part) {
      Statement<?> statement;
      if (part.size() == 1) {
        statement = part.get(0).statement.setIdempotent(true);
      } else {
        BatchStatementBuilder batch = BatchStatement.builder(DefaultBatchType.UNLOGGED).setIdempotence(true);
        for (Pending p : part) batch.addStatement(p.statement);
        statement = batch.build();
      }
      long[] produced = new long[part.size()];
      for (int i = 0; i < produced.length; i++) produced[i] = part.get(i).producedMs;
      session
          .executeAsync(statement)
          .whenComplete(
              (result, error) -> {
                if (error != null) {
                  failure.compareAndSet(null, error);
                } else {
                  acknowledged(produced);
                }
                inFlight.release();
              });
    }

    private void acknowledged(long[] produced) {
      long now = System.currentTimeMillis();
      synchronized (histogram) {
        for (long p : produced) {
          if (p == NOT_COUNTED) continue;
          histogram[(int) Math.max(0, Math.min(BUCKETS - 1, now - p))]++;
          counted++;
        }
      }
    }

    /** Writes this task's freshness since the last record (nothing when it wrote nothing). */
    private void recordProgress() {
      long[] counts;
      synchronized (histogram) {
        if (counted == 0) return; // nothing acknowledged since the last record: no copy, no scan
        counts = histogram.clone();
        java.util.Arrays.fill(histogram, 0);
        counted = 0;
      }
      progressSinceMs = System.currentTimeMillis();
      long rows = 0;
      int slowest = 0;
      for (int i = 0; i < BUCKETS; i++) {
        rows += counts[i];
        if (counts[i] > 0) slowest = i;
      }
      if (rows == 0) return;
      // Unique per task and record, newest highest: the table clusters by it, newest first.
      long batchId = progressSinceMs * 10_000 + (partitionId % 1000) * 10 + (sequence++ % 10);
      session.executeAsync(
          progress.bind(config.query, batchId, (int) rows, quantile(counts, rows, 0.5), quantile(counts, rows, 0.95),
              (slowest + 1) / 1000.0));
    }

    private static double quantile(long[] counts, long rows, double q) {
      long seen = 0;
      for (int i = 0; i < counts.length; i++) {
        seen += counts[i];
        if (seen >= q * rows) return (i + 1) / 1000.0;
      }
      return counts.length / 1000.0;
    }

    /** Flushes, waits for every acknowledgement and raises the first error (the task then fails, and Spark runs
     * the epoch again: the writes are idempotent). */
    void close(boolean succeeded) {
      closed = true;
      progressTimer.cancel(false);
      lock.lock();
      try {
        if (succeeded) flush(true);
      } finally {
        lock.unlock();
      }
      inFlight.acquireUninterruptibly(config.maxInFlight);
      inFlight.release(config.maxInFlight);
      recordProgress(); // the timer is cancelled and every answer is in: nothing else touches the histogram now
      if (succeeded) raiseFailure();
    }

    private void raiseFailure() {
      Throwable error = failure.get();
      if (error != null) throw new RuntimeException("a Cassandra write failed: " + error, error);
    }
  }

  private static final class Pending {
    final BoundStatement statement;
    final long producedMs;

    Pending(BoundStatement statement, long producedMs) {
      this.statement = statement;
      this.producedMs = producedMs;
    }
  }
}
