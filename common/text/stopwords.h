/*
 * stopwords.h: scikit-learn's English stop word list (ENGLISH_STOP_WORDS,
 * 318 words), which CountVectorizer(stop_words="english") drops.
 */
#ifndef RECSYS_COMMON_STOPWORDS_H
#define RECSYS_COMMON_STOPWORDS_H

#include <stddef.h>

/* 1 when w[0..len) is one of the words (exact, case-sensitive bytes). */
int stopwords_is_english(const char *w, size_t len);
/* The list itself, in byte order: count and the i-th word (NULL past the end). */
size_t stopwords_english_count(void);
const char *stopwords_english_at(size_t i);

#endif
