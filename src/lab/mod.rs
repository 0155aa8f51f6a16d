//! The lab engine: real sockets driven by `labs/*.toml`.
