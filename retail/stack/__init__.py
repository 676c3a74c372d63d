"""The native local stack: real Kafka, HDFS, Cassandra, Spark and Prefect as local processes."""

from retail.stack.errors import StackError
from retail.stack.manager import ServiceStatus, Stack

__all__ = ["ServiceStatus", "Stack", "StackError"]
