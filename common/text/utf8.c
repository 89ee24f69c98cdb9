/*
 * utf8.c: UTF-8 coding and the CPython-compatible code point predicates.
 *
 * The decoder follows the Unicode "maximal subpart" practice (Unicode 3.9,
 * table 3-7), which is also what CPython's "replace" error handler does, so
 * a byte string with errors decodes to the same code points here and in
 * Python. The predicates answer ASCII from a switch-free test and everything
 * else by binary search in the generated range tables (utf8_tables.c).
 */
#include "common/text/utf8.h"

/* Range of the second byte allowed after lead byte b (table 3-7); lo > hi
 * when b cannot start a sequence. Returns the sequence length (0 if none). */
static size_t lead_info(unsigned b, unsigned *lo, unsigned *hi)
{
    *lo = 0x80;
    *hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF)
        return 2;
    if (b >= 0xE0 && b <= 0xEF) {
        if (b == 0xE0)
            *lo = 0xA0;
        else if (b == 0xED)
            *hi = 0x9F;
        return 3;
    }
    if (b >= 0xF0 && b <= 0xF4) {
        if (b == 0xF0)
            *lo = 0x90;
        else if (b == 0xF4)
            *hi = 0x8F;
        return 4;
    }
    return 0;
}

/* Decodes one code point; *bad is set when the bytes were ill-formed. */
static size_t decode(const unsigned char *u, size_t len, uint32_t *cp, int *bad)
{
    *bad = 1;
    *cp = UTF8_REPLACEMENT;
    if (len == 0)
        return 0;
    if (u[0] < 0x80) {
        *bad = 0;
        *cp = u[0];
        return 1;
    }
    unsigned lo, hi;
    size_t n = lead_info(u[0], &lo, &hi);
    if (n == 0 || len < 2 || u[1] < lo || u[1] > hi)
        return 1;
    uint32_t c = u[0] & (0x7Fu >> n);
    c = (c << 6) | (u[1] & 0x3Fu);
    for (size_t i = 2; i < n; i++) {
        if (i >= len || (u[i] & 0xC0) != 0x80)
            return i;
        c = (c << 6) | (u[i] & 0x3Fu);
    }
    *bad = 0;
    *cp = c;
    return n;
}

size_t utf8_decode(const char *s, size_t len, uint32_t *cp)
{
    int bad;
    return decode((const unsigned char *)s, len, cp, &bad);
}

size_t utf8_encode(uint32_t cp, char *out)
{
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if ((cp >= 0xD800 && cp < 0xE000) || cp > 0x10FFFF)
        cp = UTF8_REPLACEMENT;
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t utf8_check(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        if ((unsigned char)s[i] < 0x80) {
            i++;
            continue;
        }
        uint32_t cp;
        int bad;
        size_t n = decode((const unsigned char *)s + i, len - i, &cp, &bad);
        if (bad)
            return i;
        i += n;
    }
    return len;
}

int utf8_valid(const char *s, size_t len)
{
    return utf8_check(s, len) == len;
}

size_t utf8_count(const char *s, size_t len)
{
    size_t i = 0, n = 0;
    while (i < len) {
        uint32_t cp;
        i += (unsigned char)s[i] < 0x80 ? 1 : utf8_decode(s + i, len - i, &cp);
        n++;
    }
    return n;
}

size_t utf8_from_latin1(const char *in, size_t len, char *out, size_t outcap)
{
    /* Room for the NUL; stop writing at the first character that does not
     * fit so that a short buffer never ends in half a character. */
    size_t room = outcap ? outcap - 1 : 0, o = 0, w = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char b = (unsigned char)in[i];
        size_t n = b < 0x80 ? 1 : 2;
        if (w == o && o + n <= room) {
            if (n == 1) {
                out[w++] = (char)b;
            } else {
                out[w++] = (char)(0xC0 | (b >> 6));
                out[w++] = (char)(0x80 | (b & 0x3F));
            }
        }
        o += n;
    }
    if (outcap > 0)
        out[w] = '\0';
    return o;
}

static int in_ranges(const utf8_range_t *r, size_t n, uint32_t cp)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < r[mid].lo)
            hi = mid;
        else if (cp > r[mid].hi)
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

int utf8_is_space(uint32_t cp)
{
    if (cp < 0x80)
        return cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x1F);
    return in_ranges(utf8_tab_space, utf8_tab_space_n, cp);
}

int utf8_is_word(uint32_t cp)
{
    if (cp < 0x80)
        return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
               (cp >= '0' && cp <= '9') || cp == '_';
    return in_ranges(utf8_tab_word, utf8_tab_word_n, cp);
}

int utf8_is_case_ignorable(uint32_t cp)
{
    return in_ranges(utf8_tab_case_ignorable, utf8_tab_case_ignorable_n, cp);
}

int utf8_is_cased(uint32_t cp)
{
    return in_ranges(utf8_tab_cased, utf8_tab_cased_n, cp);
}

size_t utf8_lower_cp(uint32_t cp, uint32_t out[3])
{
    if (cp < 0x80) {
        out[0] = (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
        return 1;
    }
    for (size_t i = 0; i < utf8_tab_lower_multi_n; i++) {
        if (utf8_tab_lower_multi[i].cp == cp) {
            for (uint32_t k = 0; k < utf8_tab_lower_multi[i].n; k++)
                out[k] = utf8_tab_lower_multi[i].out[k];
            return utf8_tab_lower_multi[i].n;
        }
    }
    /* Last run starting at or before cp. */
    size_t lo = 0, hi = utf8_tab_lower_n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (utf8_tab_lower[mid].lo <= cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    out[0] = cp;
    if (lo > 0) {
        const utf8_lower_run_t *r = &utf8_tab_lower[lo - 1];
        if (cp <= r->hi && (cp - r->lo) % r->stride == 0)
            out[0] = (uint32_t)((int32_t)cp + r->delta);
    }
    return 1;
}

size_t utf8_seq_len(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0; /* no overlongs */
        else if (c == 0xED)
            hi = 0x9F; /* no UTF-16 surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90; /* no overlongs */
        else if (c == 0xF4)
            hi = 0x8F; /* nothing above U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}
