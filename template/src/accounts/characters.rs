//! Characters that have no place in what people type for others to read.

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// Control and format characters and line breaks: they are invisible (a zero-width
/// space makes two names look alike), reorder text (a right-to-left override), or
/// start new lines where a mail quotes the text. The zero-width (non-)joiners are
/// kept: several scripts spell words with them.
pub fn is_invisible(c: char) -> bool {
    c != '\u{200c}'
        && c != '\u{200d}'
        && matches!(
            c.general_category(),
            GeneralCategory::Control
                | GeneralCategory::Format
                | GeneralCategory::LineSeparator
                | GeneralCategory::ParagraphSeparator
        )
}

/// Combining marks (accents, dots, strokes): after normalisation (NFC/NFKC) they remain
/// only where no letter carries them precomposed.
pub fn is_combining_mark(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::NonspacingMark
            | GeneralCategory::SpacingMark
            | GeneralCategory::EnclosingMark
    )
}
