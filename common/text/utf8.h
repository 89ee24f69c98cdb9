/*
 * utf8.h: UTF-8 decoding and encoding, Latin-1 conversion, and the Unicode
 * predicates the text pipeline needs, defined as CPython 3 defines them.
 *
 * The content pipeline reproduces a Python notebook, so "whitespace" is what
 * str.split() splits on, a "word character" is what re's \w matches in a str
 * pattern (str.isalnum() or '_'), and lower-casing is str.lower() with its
 * full mappings ('İ' -> "i̇") and its final-sigma rule. The tables behind
 * these come from Python's unicodedata (tools/gen_unicode_tables.py ->
 * utf8_tables.c; utf8_tab_unicode_version names the Unicode version).
 *
 * Invalid UTF-8 never fails and never crashes: the decoder turns each
 * maximal ill-formed subpart into one U+FFFD, exactly as Python's
 * bytes.decode("utf-8", "replace") does (a truncated sequence such as
 * E2 82 is one U+FFFD; a byte that cannot start or continue a sequence is
 * one U+FFFD; surrogates and overlong forms are ill-formed). Everything
 * that re-encodes text (lower-casing, stemming) therefore writes U+FFFD in
 * their place, and its output is always valid UTF-8.
 */
#ifndef RECSYS_COMMON_UTF8_H
#define RECSYS_COMMON_UTF8_H

#include <stddef.h>
#include <stdint.h>

#define UTF8_REPLACEMENT 0xFFFDu

/* Decodes the code point at s[0..len) (len > 0) into *cp and returns the
 * number of bytes it took (1..4). Ill-formed input gives U+FFFD and consumes
 * the maximal ill-formed subpart (at least 1 byte). */
size_t utf8_decode(const char *s, size_t len, uint32_t *cp);

/* Encodes cp into out (4 bytes of room) and returns its length (1..4).
 * Surrogates and values above U+10FFFF are written as U+FFFD. */
size_t utf8_encode(uint32_t cp, char *out);

/* Length of the well-formed sequence starting at s (n > 0 bytes available):
 * 1 for ASCII, 2..4 for a valid multi-byte sequence (no overlongs, no
 * surrogates, nothing above U+10FFFF), 0 when it is ill-formed or cut short.
 * The JSON codec uses it to validate and copy strings without decoding. */
size_t utf8_seq_len(const char *s, size_t n);

/* Byte offset of the first ill-formed sequence, or len when s is valid. */
size_t utf8_check(const char *s, size_t len);
/* 1 when s[0..len) is valid UTF-8, else 0. */
int utf8_valid(const char *s, size_t len);
/* Number of code points (each ill-formed subpart counts as one). */
size_t utf8_count(const char *s, size_t len);

/* Latin-1 (ISO-8859-1) to UTF-8: every byte is the code point of the same
 * value. Writes at most outcap bytes plus a NUL when there is room, and
 * returns the full UTF-8 length (at most 2 * len), like snprintf. */
size_t utf8_from_latin1(const char *in, size_t len, char *out, size_t outcap);

/* Python's str.isspace() (what str.split() with no argument splits on). */
int utf8_is_space(uint32_t cp);
/* Python's re \w for str patterns: str.isalnum() or '_'. */
int utf8_is_word(uint32_t cp);
/* The two properties str.lower() uses for the final sigma. utf8_is_cased is
 * only exact for code points that are not case-ignorable (see the tables). */
int utf8_is_case_ignorable(uint32_t cp);
int utf8_is_cased(uint32_t cp);
/* Python's chr(cp).lower() without context (U+03A3 gives U+03C3): writes
 * 1..3 code points into out and returns how many. */
size_t utf8_lower_cp(uint32_t cp, uint32_t out[3]);

/* ---- generated tables (utf8_tables.c); internal to utf8.c ---- */
typedef struct utf8_range {
    uint32_t lo, hi;
} utf8_range_t;
typedef struct utf8_lower_run {
    uint32_t lo, hi;
    int32_t delta;
    uint32_t stride;
} utf8_lower_run_t;
typedef struct utf8_lower_multi {
    uint32_t cp;
    uint32_t n;
    uint32_t out[3];
} utf8_lower_multi_t;

extern const char utf8_tab_unicode_version[];
extern const utf8_range_t utf8_tab_space[];
extern const size_t utf8_tab_space_n;
extern const utf8_range_t utf8_tab_word[];
extern const size_t utf8_tab_word_n;
extern const utf8_range_t utf8_tab_case_ignorable[];
extern const size_t utf8_tab_case_ignorable_n;
extern const utf8_range_t utf8_tab_cased[];
extern const size_t utf8_tab_cased_n;
extern const utf8_lower_run_t utf8_tab_lower[];
extern const size_t utf8_tab_lower_n;
extern const utf8_lower_multi_t utf8_tab_lower_multi[];
extern const size_t utf8_tab_lower_multi_n;

#endif
