//! Live loopback capture (filled in by the lab engine work).
