"""Bronze: Kafka records and CSV lines landed as they arrived."""
