# A JVM service (kafka, hadoop, cassandra): the project's base image (Java 17) with the service's jars from the
# artifact cache and its configuration templates.
ARG BASE
FROM ${BASE}
COPY lib/ /opt/retail/lib/
COPY conf/ /opt/retail/conf/
ENV CLASSPATH=/opt/retail/lib/*
WORKDIR /opt/retail
