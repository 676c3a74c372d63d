# Spark master and worker: the project's base image (Java 17, Python 3.11) with the installed pyspark's jars, so the
# cluster runs the driver's Spark, plus the Kafka connector and the Cassandra Java driver the jobs load.
ARG BASE
FROM ${BASE}
COPY spark/ /opt/spark/
COPY lib/ /opt/retail/lib/
ENV SPARK_HOME=/opt/spark SPARK_SCALA_VERSION=2.13 PYSPARK_PYTHON=python3
WORKDIR /opt/spark
