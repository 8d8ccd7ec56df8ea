"""Search in Milvus: the passages' vectors, their text analysed by articlebot for Milvus's
BM25, and the scalar fields filters read (`ARTICLEBOT_MILVUS_URI`)."""
