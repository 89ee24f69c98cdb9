/*
 * text.h: the Python string operations the content pipeline is built from.
 *
 *   text_next_ws / text_split_ws   str.split() with no argument
 *   text_lower                     str.lower()
 *   text_next_word                 re.findall(r"(?u)\b\w\w+\b", s) on s
 *   text_cv_tokenize               scikit-learn CountVectorizer's default
 *                                  analyzer: lower-case, then the above
 *
 * Tokens are spans into the caller's text (no allocation per token): the
 * iterators fill a pointer and a length, the callbacks receive the same.
 * Input is UTF-8; ill-formed bytes are read as U+FFFD (see utf8.h), which
 * is neither whitespace nor a word character, so split tokens may carry
 * raw ill-formed bytes while word tokens never do, and text_lower writes
 * U+FFFD in their place.
 */
#ifndef RECSYS_COMMON_TEXT_H
#define RECSYS_COMMON_TEXT_H

#include <stddef.h>

/* Upper bound of text_lower's output for len input bytes, NUL excluded
 * (a lone ill-formed byte becomes the 3-byte U+FFFD). */
#define TEXT_LOWER_MAX(len) (3 * (size_t)(len))

typedef struct text_iter {
    const char *s;
    size_t len;
    size_t pos;
} text_iter_t;

void text_iter_init(text_iter_t *it, const char *s, size_t len);
/* Next maximal run of non-whitespace; 1 with tok and toklen set, 0 at the end. */
int text_next_ws(text_iter_t *it, const char **tok, size_t *toklen);
/* Next maximal run of two or more word characters (\w), as the pattern
 * \b\w\w+\b finds them; 1 with tok and toklen set, 0 at the end. Does not
 * lower-case: run it over text_lower's output for CountVectorizer tokens. */
int text_next_word(text_iter_t *it, const char **tok, size_t *toklen);

/* Called once per token; a non-zero return stops the walk. */
typedef int (*text_token_fn)(const char *tok, size_t len, void *ud);

/* str.split(): calls fn for each token; returns the number of tokens seen. */
size_t text_split_ws(const char *s, size_t len, text_token_fn fn, void *ud);

/* str.lower() of s, including the full mappings ('İ' -> "i̇") and the
 * final-sigma rule ('Σ' -> 'ς' at the end of a word, else 'σ'). Writes at
 * most outcap - 1 bytes and a NUL (stopping before a character that does not
 * fit) and returns the full length, like snprintf; TEXT_LOWER_MAX(len) + 1
 * bytes are always enough. */
size_t text_lower(const char *s, size_t len, char *out, size_t outcap);

/* CountVectorizer's tokens of s: lower-cases s into scratch (cap bytes, at
 * least TEXT_LOWER_MAX(len) + 1 are always enough) and calls fn for each
 * token, which points into scratch. Returns the number of tokens seen, or
 * -1 when scratch is too small (nothing is called then). */
long text_cv_tokenize(const char *s, size_t len, char *scratch, size_t cap,
                      text_token_fn fn, void *ud);

#endif
