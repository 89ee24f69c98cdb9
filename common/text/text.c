/*
 * text.c: str.split(), str.lower() and CountVectorizer's tokens, in C.
 *
 * Every loop takes ASCII bytes on a fast path and decodes anything else
 * with utf8_decode, asking the generated Unicode tables; spans handed back
 * are byte ranges of the input, so nothing is allocated per token.
 *
 * str.lower() is a per-code-point mapping except for one context rule:
 * CPython lowers U+03A3 to final sigma U+03C2 when the nearest preceding
 * code point that is not case-ignorable is cased and the nearest following
 * one is not cased (or is missing). The preceding half is tracked as we go
 * (prev_cased); the following half is a short forward scan, which stops at
 * the next non-ignorable code point, so the whole pass stays linear.
 */
#include "common/text/text.h"

#include <stdint.h>
#include <string.h>

#include "common/text/utf8.h"

static inline int ascii_space(unsigned c)
{
    return c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
}

static inline int ascii_word(unsigned c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_';
}

static inline int ascii_letter(unsigned c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* The ASCII members of Case_Ignorable (test_text checks them against the
 * tables). */
static inline int ascii_case_ignorable(unsigned c)
{
    return c == '\'' || c == '.' || c == ':' || c == '^' || c == '`';
}

/* Classifies the code point at u[i]; *k receives its length in bytes. */
static inline int space_at(const char *s, size_t i, size_t n, size_t *k)
{
    unsigned b = (unsigned char)s[i];
    if (b < 0x80) {
        *k = 1;
        return ascii_space(b);
    }
    uint32_t cp;
    *k = utf8_decode(s + i, n - i, &cp);
    return utf8_is_space(cp);
}

static inline int word_at(const char *s, size_t i, size_t n, size_t *k)
{
    unsigned b = (unsigned char)s[i];
    if (b < 0x80) {
        *k = 1;
        return ascii_word(b);
    }
    uint32_t cp;
    *k = utf8_decode(s + i, n - i, &cp);
    return utf8_is_word(cp);
}

void text_iter_init(text_iter_t *it, const char *s, size_t len)
{
    it->s = s;
    it->len = len;
    it->pos = 0;
}

int text_next_ws(text_iter_t *it, const char **tok, size_t *toklen)
{
    size_t i = it->pos, n = it->len, k;
    while (i < n && space_at(it->s, i, n, &k))
        i += k;
    if (i >= n) {
        it->pos = n;
        return 0;
    }
    size_t start = i;
    while (i < n && !space_at(it->s, i, n, &k))
        i += k;
    *tok = it->s + start;
    *toklen = i - start;
    it->pos = i;
    return 1;
}

int text_next_word(text_iter_t *it, const char **tok, size_t *toklen)
{
    size_t i = it->pos, n = it->len, k;
    while (i < n) {
        while (i < n && !word_at(it->s, i, n, &k))
            i += k;
        size_t start = i, cps = 0;
        while (i < n && word_at(it->s, i, n, &k)) {
            i += k;
            cps++;
        }
        /* \b\w\w+\b: a whole run, and only runs of two or more. */
        if (cps >= 2) {
            *tok = it->s + start;
            *toklen = i - start;
            it->pos = i;
            return 1;
        }
    }
    it->pos = n;
    return 0;
}

size_t text_split_ws(const char *s, size_t len, text_token_fn fn, void *ud)
{
    text_iter_t it;
    const char *tok;
    size_t toklen, count = 0;
    text_iter_init(&it, s, len);
    while (text_next_ws(&it, &tok, &toklen)) {
        count++;
        if (fn && fn(tok, toklen, ud) != 0)
            break;
    }
    return count;
}

/* The following half of the final-sigma context, from byte i (just after
 * the sigma): true when the next code point that is not case-ignorable is
 * not cased, or there is none. */
static int sigma_is_final_after(const char *s, size_t i, size_t n)
{
    while (i < n) {
        uint32_t cp;
        unsigned b = (unsigned char)s[i];
        if (b < 0x80) {
            cp = b;
            i++;
        } else {
            i += utf8_decode(s + i, n - i, &cp);
        }
        if (cp < 0x80 ? !ascii_case_ignorable(cp) : !utf8_is_case_ignorable(cp))
            return cp < 0x80 ? !ascii_letter(cp) : !utf8_is_cased(cp);
    }
    return 1;
}

/* Output cursor that stops writing at the first character that does not
 * fit (and counts on, for the snprintf-style return value). */
typedef struct sink {
    char *out;
    size_t room, written, total;
} sink_t;

/* One character of n bytes: all of it or nothing. */
static inline void sink_char(sink_t *k, const char *p, size_t n)
{
    if (k->written == k->total && k->written + n <= k->room) {
        memcpy(k->out + k->written, p, n);
        k->written += n;
    }
    k->total += n;
}

/* n ASCII characters: as many as fit. */
static inline void sink_ascii(sink_t *k, const char *p, size_t n)
{
    size_t fit = k->room - k->written < n ? k->room - k->written : n;
    if (k->written == k->total && fit > 0) {
        memcpy(k->out + k->written, p, fit);
        k->written += fit;
    }
    k->total += n;
}

size_t text_lower(const char *s, size_t len, char *out, size_t outcap)
{
    sink_t k = {out, outcap ? outcap - 1 : 0, 0, 0};
    int prev_cased = 0;
    size_t i = 0;
    while (i < len) {
        unsigned b = (unsigned char)s[i];
        if (b < 0x80) {
            /* ASCII run: copy with A-Z shifted. */
            size_t j = i;
            char buf[64];
            size_t m = 0;
            while (j < len && m < sizeof buf && (b = (unsigned char)s[j]) < 0x80) {
                if (b >= 'A' && b <= 'Z') {
                    b += 32;
                    prev_cased = 1;
                } else if (b >= 'a' && b <= 'z') {
                    prev_cased = 1;
                } else if (!ascii_case_ignorable(b)) {
                    prev_cased = 0;
                }
                buf[m++] = (char)b;
                j++;
            }
            sink_ascii(&k, buf, m);
            i = j;
            continue;
        }
        uint32_t cp, low[3];
        size_t nlow;
        i += utf8_decode(s + i, len - i, &cp);
        if (cp == 0x3A3) {
            low[0] = prev_cased && sigma_is_final_after(s, i, len) ? 0x3C2 : 0x3C3;
            nlow = 1;
        } else {
            nlow = utf8_lower_cp(cp, low);
        }
        if (!utf8_is_case_ignorable(cp))
            prev_cased = utf8_is_cased(cp);
        for (size_t q = 0; q < nlow; q++) {
            char enc[4];
            sink_char(&k, enc, utf8_encode(low[q], enc));
        }
    }
    if (outcap > 0)
        out[k.written] = '\0';
    return k.total;
}

long text_cv_tokenize(const char *s, size_t len, char *scratch, size_t cap,
                      text_token_fn fn, void *ud)
{
    size_t n = text_lower(s, len, scratch, cap);
    if (n >= cap)
        return -1;
    text_iter_t it;
    const char *tok;
    size_t toklen;
    long count = 0;
    text_iter_init(&it, scratch, n);
    while (text_next_word(&it, &tok, &toklen)) {
        count++;
        if (fn && fn(tok, toklen, ud) != 0)
            break;
    }
    return count;
}
