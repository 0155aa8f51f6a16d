//! pcap writer for `--save`.
