//! Bad input: a clear error naming file, line and column; exit 1; nothing
//! changed.
