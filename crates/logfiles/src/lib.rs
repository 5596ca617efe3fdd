//! Readers for collected log files: Windows EVTX, JSON lines, JSON documents, gzip, directories.
