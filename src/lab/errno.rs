//! Errno names, as a C or Python program sees them.

/// The symbolic name of an errno value (Linux numbering).
pub fn name(errno: i32) -> &'static str {
    match errno {
        1 => "EPERM",
        2 => "ENOENT",
        4 => "EINTR",
        9 => "EBADF",
        11 => "EAGAIN",
        13 => "EACCES",
        22 => "EINVAL",
        24 => "EMFILE",
        32 => "EPIPE",
        88 => "ENOTSOCK",
        90 => "EMSGSIZE",
        95 => "EOPNOTSUPP",
        97 => "EAFNOSUPPORT",
        98 => "EADDRINUSE",
        99 => "EADDRNOTAVAIL",
        100 => "ENETDOWN",
        101 => "ENETUNREACH",
        103 => "ECONNABORTED",
        104 => "ECONNRESET",
        105 => "ENOBUFS",
        106 => "EISCONN",
        107 => "ENOTCONN",
        110 => "ETIMEDOUT",
        111 => "ECONNREFUSED",
        113 => "EHOSTUNREACH",
        114 => "EALREADY",
        115 => "EINPROGRESS",
        _ => "E?",
    }
}

/// The errno value of a name, for lab files.
pub fn from_name(name_or_number: &str) -> Option<i32> {
    if let Ok(n) = name_or_number.parse() {
        return Some(n);
    }
    let wanted = if name_or_number.eq_ignore_ascii_case("EWOULDBLOCK") { "EAGAIN" } else { name_or_number };
    (1..=133).find(|&n| name(n).eq_ignore_ascii_case(wanted))
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_round_trip() {
        assert_eq!(super::name(111), "ECONNREFUSED");
        assert_eq!(super::from_name("EADDRINUSE"), Some(98));
        assert_eq!(super::from_name("EWOULDBLOCK"), Some(11));
        assert_eq!(super::from_name("104"), Some(104));
        assert_eq!(super::from_name("ENOPE"), None);
    }
}
