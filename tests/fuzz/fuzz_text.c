/* fuzz_text.c: split, lower, tokenise and stem arbitrary bytes.
 *
 * Invariants: nothing crashes; split tokens are non-empty, in order, inside
 * the input and free of whitespace at their edges; str.lower() output is
 * valid UTF-8 within TEXT_LOWER_MAX and lower-casing it again changes
 * nothing; CountVectorizer tokens lie inside the lowered text and are runs
 * of two or more word characters that a slow decode-everything scan finds
 * too; every stem is valid UTF-8 within PORTER_OUT_MAX. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/text/porter.h"
#include "common/text/stopwords.h"
#include "common/text/text.h"
#include "common/text/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok)
        abort();
}

static uint32_t cp_at(const char *s, size_t len, size_t *k)
{
    uint32_t cp;
    *k = utf8_decode(s, len, &cp);
    return cp;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192)
        return 0;
    const char *s = (const char *)data;

    /* split */
    text_iter_t it;
    const char *tok;
    size_t toklen, last_end = 0, k;
    text_iter_init(&it, s, size);
    while (text_next_ws(&it, &tok, &toklen)) {
        size_t off = (size_t)(tok - s);
        check(toklen > 0 && off >= last_end && off + toklen <= size);
        check(!utf8_is_space(cp_at(tok, toklen, &k)));
        last_end = off + toklen;

        char stem[PORTER_OUT_MAX(8192)];
        size_t n = porter_stem(tok, toklen, stem, sizeof stem);
        check(n != PORTER_ENOMEM && n < PORTER_OUT_MAX(toklen));
        check(utf8_valid(stem, n));
        (void)stopwords_is_english(stem, n);
    }

    /* lower */
    size_t cap = TEXT_LOWER_MAX(size) + 1;
    char *low = malloc(cap), *low2 = malloc(cap);
    size_t n = text_lower(s, size, low, cap);
    check(n < cap && utf8_valid(low, n));
    check(text_lower(low, n, low2, cap) == n && memcmp(low, low2, n) == 0);

    /* tokens over the lowered text, against a slow reference scan */
    text_iter_init(&it, low, n);
    size_t ref = 0;
    while (text_next_word(&it, &tok, &toklen)) {
        check(tok >= low && tok + toklen <= low + n);
        size_t cps = 0;
        for (size_t i = 0; i < toklen; i += k, cps++)
            check(utf8_is_word(cp_at(tok + i, toklen - i, &k)));
        check(cps >= 2);
        /* The reference: the next maximal run of >= 2 word code points. */
        for (;;) {
            while (ref < n && !utf8_is_word(cp_at(low + ref, n - ref, &k)))
                ref += k;
            size_t start = ref, c = 0;
            while (ref < n && utf8_is_word(cp_at(low + ref, n - ref, &k))) {
                ref += k;
                c++;
            }
            check(start < n);
            if (c >= 2) {
                check(low + start == tok && ref - start == toklen);
                break;
            }
        }
    }
    long count = text_cv_tokenize(s, size, low2, cap, NULL, NULL);
    check(count >= 0);

    /* short output buffers */
    char small[5];
    size_t m = text_lower(s, size, small, sizeof small);
    check(m == n && strlen(small) <= 4 && memcmp(small, low, strlen(small)) == 0);
    free(low);
    free(low2);
    return 0;
}
