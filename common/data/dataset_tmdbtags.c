/*
 * dataset_tmdbtags.c: cast and director names from the TMDB notebook's
 * seed-tags table (processed_movies.csv), for a TMDB directory without
 * tmdb_5000_credits.csv (dataset.h, "Joining TMDB 5000", opts.tmdb_tags).
 *
 * The notebook built each row's tags as: the overview's words
 * (Python's str.split()), one token per genre and one per keyword (each
 * name with its spaces removed), the first three cast names and the first
 * director (spaces removed), all lower-cased. So the tokens after the
 * overview, genre and keyword tokens of the same TMDB record are the
 * credits: four of them are three cast names and a director; fewer are
 * taken as cast (which of them is missing cannot be told). A row whose
 * token after the overview is not the record's first genre (or keyword),
 * or whose tail is longer than four tokens, did not come from this record
 * and is skipped (counted in ds->tmdb.tags_mismatched).
 */
#include <stdlib.h>
#include <string.h>

#include "common/data/dataset_loaders.h"

/* Length of the Unicode whitespace (as Python's str.split() sees it) that
 * starts at s (n bytes left), 0 when none. */
static size_t space_len(const unsigned char *s, size_t n)
{
    if (s[0] == ' ' || (s[0] >= 0x09 && s[0] <= 0x0d) || (s[0] >= 0x1c && s[0] <= 0x1f))
        return 1;
    if (n >= 2 && s[0] == 0xc2 && (s[1] == 0x85 || s[1] == 0xa0))
        return 2;
    if (n >= 3 && s[0] == 0xe1 && s[1] == 0x9a && s[2] == 0x80) /* U+1680 */
        return 3;
    if (n >= 3 && s[0] == 0xe2 && s[1] == 0x80 &&
        (s[2] <= 0x8a || s[2] == 0xa8 || s[2] == 0xa9 || s[2] == 0xaf)) /* U+2000-200A, 2028, 2029, 202F */
        return 3;
    if (n >= 3 && s[0] == 0xe2 && s[1] == 0x81 && s[2] == 0x9f) /* U+205F */
        return 3;
    if (n >= 3 && s[0] == 0xe3 && s[1] == 0x80 && s[2] == 0x80) /* U+3000 */
        return 3;
    return 0;
}

typedef struct tok {
    const char *p;
    size_t len;
} tok_t;

/* Splits s into at most max tokens (tok may be NULL to count only);
 * returns the number of tokens in s. */
static size_t split(const char *s, tok_t *tok, size_t max)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s), i = 0, count = 0;
    while (i < n) {
        size_t w = space_len(u + i, n - i);
        if (w) {
            i += w;
            continue;
        }
        size_t start = i;
        while (i < n && space_len(u + i, n - i) == 0)
            i++;
        if (tok && count < max)
            tok[count] = (tok_t){s + start, i - start};
        count++;
    }
    return count;
}

/* 1 when tag equals name lower-cased (ASCII) with its spaces removed. */
static int same_name(tok_t tag, const char *name)
{
    size_t k = 0;
    for (const char *p = name; *p; p++) {
        if (*p == ' ')
            continue;
        char c = *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p;
        if (k >= tag.len || tag.p[k] != c)
            return 0;
        k++;
    }
    return k == tag.len;
}

int ds_tmdb_seed_credits(const catalog_t *tc, uint32_t j, const char *tags, ds_seed_credits_t *out)
{
    memset(out, 0, sizeof *out);
    size_t nov = split(catalog_overview(tc, j), NULL, 0);
    uint32_t ng = catalog_item_ngenres(tc, j), nk = catalog_list_len(tc, j, CATALOG_KEYWORDS);
    size_t prefix = nov + ng + nk;
    size_t total = split(tags, NULL, 0);
    if (total < prefix || total - prefix > DS_SEED_CREDITS_MAX)
        return -1;
    tok_t *t = malloc((total ? total : 1) * sizeof *t);
    if (t == NULL)
        return -2;
    split(tags, t, total);
    int ok = 1;
    if (ng > 0)
        ok = same_name(t[nov], catalog_genre_name(tc, catalog_item_genre(tc, j, 0)));
    else if (nk > 0)
        ok = same_name(t[nov], catalog_list_at(tc, j, CATALOG_KEYWORDS, 0));
    if (ok) {
        out->n = total - prefix;
        for (size_t k = 0; k < out->n; k++) {
            out->name[k] = t[prefix + k].p;
            out->len[k] = t[prefix + k].len;
        }
        out->director = out->n == DS_SEED_CREDITS_MAX;
    }
    free(t);
    return ok ? 0 : -1;
}
