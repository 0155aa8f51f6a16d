//! English and Simplified Chinese. The course is taught in Chinese, so every
//! lab text, annotation sentence and label exists in both; protocol tokens
//! (SYN, ACK, errno names, state names) stay as they are. JSON output stays in
//! English: it is a contract for scripts.

use std::sync::OnceLock;

/// The language of what people read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// English.
    #[default]
    En,
    /// 简体中文.
    Zh,
}

static LANG: OnceLock<Lang> = OnceLock::new();

/// Sets the language once, at start-up.
pub fn set(lang: Lang) {
    let _ = LANG.set(lang);
}

thread_local! {
    /// A test's language: tests of both languages share one process, and the
    /// language is otherwise fixed for the process.
    static OVERRIDE: std::cell::Cell<Option<Lang>> = const { std::cell::Cell::new(None) };
}

/// The language in use.
pub fn current() -> Lang {
    OVERRIDE.with(|o| o.get()).unwrap_or_else(|| *LANG.get().unwrap_or(&Lang::En))
}

/// Runs `f` with `lang` as the language of this thread (for tests that render
/// in both languages in one process).
pub fn with_lang<T>(lang: Lang, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<Lang>);
    impl Drop for Restore {
        fn drop(&mut self) {
            OVERRIDE.with(|o| o.set(self.0));
        }
    }
    let _restore = Restore(OVERRIDE.with(|o| o.replace(Some(lang))));
    f()
}

/// The language asked for by the environment (`LC_ALL`, `LC_MESSAGES`, `LANG`).
pub fn from_env() -> Lang {
    for var in ["LC_ALL", "LC_MESSAGES", "LANG"] {
        if let Ok(v) = std::env::var(var) {
            if !v.is_empty() {
                return if v.to_ascii_lowercase().starts_with("zh") { Lang::Zh } else { Lang::En };
            }
        }
    }
    Lang::En
}

/// A fixed label in the current language.
pub fn tr(en: &'static str, zh: &'static str) -> &'static str {
    match current() {
        Lang::En => en,
        Lang::Zh => zh,
    }
}

/// A lab text in the current language (falls back to English when no translation is given).
pub fn pick<'a>(en: &'a str, zh: Option<&'a str>) -> &'a str {
    match (current(), zh) {
        (Lang::Zh, Some(z)) => z,
        _ => en,
    }
}

/// [`either`] building only the text of the current language (for hot paths).
pub fn either_with(en: impl FnOnce() -> String, zh: impl FnOnce() -> String) -> String {
    match current() {
        Lang::En => en(),
        Lang::Zh => zh(),
    }
}

/// A formatted text in the current language (both versions are built; the one
/// in use is returned).
pub fn either(en: String, zh: String) -> String {
    match current() {
        Lang::En => en,
        Lang::Zh => zh,
    }
}
