//! Runs Sigma rules over collected log files, in parallel: the engine behind 'nigehban hunt'.
