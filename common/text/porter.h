/*
 * porter.h: the Porter stemmer exactly as NLTK 3.8 runs it,
 * nltk.stem.porter.PorterStemmer().stem(word) with the default
 * NLTK_EXTENSIONS mode and to_lowercase=True.
 *
 * The word is any whitespace token (punctuation and non-ASCII letters
 * included). Like NLTK it is lower-cased with str.lower() first, words of at
 * most two code points come back lower-cased but otherwise unchanged, and
 * the irregular forms (skies -> sky, dying -> die, news -> news, ...) are
 * looked up on the word as given. The rules only look at trailing
 * characters and treat every code point other than a, e, i, o, u (and y
 * after a consonant) as a consonant, so "civilization." keeps its suffix.
 *
 * Stateless and thread-safe. ASCII words up to PORTER_STACK_CPS bytes and
 * other words up to PORTER_STACK_CPS / 3 bytes are stemmed without touching
 * the heap; longer ones take one malloc.
 */
#ifndef RECSYS_COMMON_PORTER_H
#define RECSYS_COMMON_PORTER_H

#include <stddef.h>

/* Size, in code points, of the on-stack work buffer. */
#define PORTER_STACK_CPS 256
/* Bytes of output that always suffice for a word of len bytes, NUL included
 * (lower-casing and U+FFFD for ill-formed bytes can grow the text 3x). */
#define PORTER_OUT_MAX(len) (3 * (size_t)(len) + 1)
/* Returned when a heap buffer for a very long word could not be allocated. */
#define PORTER_ENOMEM ((size_t)-1)

/* Stems word[0..len) (UTF-8; ill-formed bytes read as U+FFFD) into out.
 * Writes at most outcap - 1 bytes and a NUL, never cutting a character, and
 * returns the stem's full length in bytes, like snprintf (or PORTER_ENOMEM). */
size_t porter_stem(const char *word, size_t len, char *out, size_t outcap);

#endif
