/*
 * catalog.c: item records, the string arena and per-item lists (see catalog.h).
 *
 * Every string is appended to one arena and referred to by its offset
 * (offset 0 is a permanent "", so zero-initialised records read as empty).
 * List entries arrive in any order (movies file, credits file and tags file
 * each add to an item's lists), so they are first recorded as pending
 * (item, list, sequence, value) rows; catalog_finish() sorts them once and
 * lays the lists out contiguously (CSR: per item and list a start and a
 * length into one value array). Tags are interned in their own idmap; the
 * finish step merges repeats per item with a marker array, so it is linear.
 */
#include "common/data/catalog.h"

#include <stdlib.h>
#include <string.h>

#include "common/text/text.h"

/* List slots: the three string lists, then genres, then tags. */
#define L_GENRES CATALOG_NLISTS
#define L_TAGS (CATALOG_NLISTS + 1)
#define L_ALL (CATALOG_NLISTS + 2)

typedef struct item_rec {
    uint64_t title, overview; /* arena offsets */
    uint64_t genre_mask;
    int64_t imdb, tmdb;
    float vote_avg, popularity;
    uint32_t vote_count;
    int32_t year;
    uint32_t at[L_ALL], n[L_ALL]; /* after finish: ranges in vals */
} item_rec_t;

typedef struct pending {
    uint32_t item;
    uint32_t list;
    uint64_t seq;
    uint64_t val; /* arena offset, genre id or tag id */
} pending_t;

struct catalog {
    idmap_t *ids;
    item_rec_t *items;
    uint32_t nitems, cap_items;
    char *arena;
    size_t arena_len, arena_cap;
    idmap_t *genres;
    idmap_t *tags;
    pending_t *pend;
    size_t npend, cap_pend;
    uint64_t *vals; /* finished list values */
    uint32_t *tag_counts; /* parallel to vals; used by tag ranges */
    size_t nvals;
    uint64_t tag_apps;
    bool finished;
    uint32_t *rcount;
    float *rmean;
};

catalog_t *catalog_new(void)
{
    catalog_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->ids = idmap_new();
    c->genres = idmap_new();
    c->tags = idmap_new();
    c->arena = malloc(4096);
    if (c->ids == NULL || c->genres == NULL || c->tags == NULL || c->arena == NULL) {
        catalog_free(c);
        return NULL;
    }
    c->arena[0] = '\0';
    c->arena_len = 1;
    c->arena_cap = 4096;
    return c;
}

void catalog_free(catalog_t *c)
{
    if (c == NULL)
        return;
    idmap_free(c->ids);
    idmap_free(c->genres);
    idmap_free(c->tags);
    free(c->items);
    free(c->arena);
    free(c->pend);
    free(c->vals);
    free(c->tag_counts);
    free(c->rcount);
    free(c->rmean);
    free(c);
}

/* Copies s into the arena (NUL-terminated); 0 for the empty string. */
static int arena_put(catalog_t *c, const char *s, size_t len, uint64_t *off)
{
    if (len == 0) {
        *off = 0;
        return 0;
    }
    if (c->arena_cap - c->arena_len < len + 1) {
        size_t cap = c->arena_cap;
        while (cap - c->arena_len < len + 1)
            cap *= 2;
        char *a = realloc(c->arena, cap);
        if (a == NULL)
            return -1;
        c->arena = a;
        c->arena_cap = cap;
    }
    memcpy(c->arena + c->arena_len, s, len);
    c->arena[c->arena_len + len] = '\0';
    *off = c->arena_len;
    c->arena_len += len + 1;
    return 0;
}

int catalog_add_item(catalog_t *c, const char *id, size_t len, uint32_t *out, err_t *err)
{
    if (len == 0)
        return err_set(err, "empty item id");
    uint32_t idx;
    int rc = idmap_intern(c->ids, id, len, &idx);
    if (rc < 0)
        return err_set(err, "out of memory");
    if (rc == 0)
        return err_set(err, "duplicate item id '%.*s'", (int)(len > 64 ? 64 : len), id);
    if (c->nitems == c->cap_items) {
        uint32_t cap = c->cap_items ? c->cap_items * 2 : 256;
        item_rec_t *it = realloc(c->items, (size_t)cap * sizeof *it);
        if (it == NULL)
            return err_set(err, "out of memory");
        c->items = it;
        c->cap_items = cap;
    }
    memset(&c->items[c->nitems], 0, sizeof c->items[0]);
    c->nitems++;
    *out = idx;
    return 0;
}

int catalog_set_title(catalog_t *c, uint32_t item, const char *s, size_t len)
{
    if (item >= c->nitems)
        return -1;
    return arena_put(c, s, len, &c->items[item].title);
}

int catalog_set_overview(catalog_t *c, uint32_t item, const char *s, size_t len)
{
    if (item >= c->nitems)
        return -1;
    return arena_put(c, s, len, &c->items[item].overview);
}

void catalog_set_year(catalog_t *c, uint32_t item, int year)
{
    if (item < c->nitems)
        c->items[item].year = year;
}

void catalog_set_links(catalog_t *c, uint32_t item, int64_t imdb_id, int64_t tmdb_id)
{
    if (item < c->nitems) {
        c->items[item].imdb = imdb_id;
        c->items[item].tmdb = tmdb_id;
    }
}

void catalog_set_votes(catalog_t *c, uint32_t item, float average, uint32_t count,
                       float popularity)
{
    if (item < c->nitems) {
        c->items[item].vote_avg = average;
        c->items[item].vote_count = count;
        c->items[item].popularity = popularity;
    }
}

static int pend_push(catalog_t *c, uint32_t item, uint32_t list, uint64_t val)
{
    if (c->finished || item >= c->nitems)
        return -1;
    if (c->npend == c->cap_pend) {
        size_t cap = c->cap_pend ? c->cap_pend * 2 : 1024;
        pending_t *p = realloc(c->pend, cap * sizeof *p);
        if (p == NULL)
            return -1;
        c->pend = p;
        c->cap_pend = cap;
    }
    pending_t *p = &c->pend[c->npend];
    p->item = item;
    p->list = list;
    p->seq = c->npend;
    p->val = val;
    c->npend++;
    return 0;
}

int catalog_intern_genre(catalog_t *c, const char *name, size_t len, uint32_t *out)
{
    if (len == 0)
        return -1;
    return idmap_intern(c->genres, name, len, out) < 0 ? -1 : 0;
}

int catalog_add_genre_id(catalog_t *c, uint32_t item, uint32_t genre)
{
    if (item >= c->nitems || genre >= idmap_size(c->genres))
        return -1;
    if (genre < 64) {
        uint64_t bit = 1ull << genre;
        if (c->items[item].genre_mask & bit)
            return 0;
        c->items[item].genre_mask |= bit;
    }
    return pend_push(c, item, L_GENRES, genre);
}

int catalog_add_genre(catalog_t *c, uint32_t item, const char *name, size_t len)
{
    uint32_t g;
    if (item >= c->nitems || catalog_intern_genre(c, name, len, &g) != 0)
        return -1;
    return catalog_add_genre_id(c, item, g);
}

int catalog_list_append(catalog_t *c, uint32_t item, catalog_list_t list, const char *s,
                        size_t len)
{
    uint64_t off;
    if ((unsigned)list >= CATALOG_NLISTS || c->finished || item >= c->nitems)
        return -1;
    if (arena_put(c, s, len, &off) != 0)
        return -1;
    return pend_push(c, item, (uint32_t)list, off);
}

int catalog_add_tag(catalog_t *c, uint32_t item, const char *s, size_t len)
{
    uint32_t t;
    if (c->finished || item >= c->nitems || len == 0)
        return -1;
    if (idmap_intern(c->tags, s, len, &t) < 0)
        return -1;
    c->tag_apps++;
    return pend_push(c, item, L_TAGS, t);
}

static int cmp_pending(const void *a, const void *b)
{
    const pending_t *x = a, *y = b;
    if (x->item != y->item)
        return x->item < y->item ? -1 : 1;
    if (x->list != y->list)
        return x->list < y->list ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int catalog_finish(catalog_t *c, err_t *err)
{
    if (c->finished)
        return 0;
    if (c->npend > 1)
        qsort(c->pend, c->npend, sizeof *c->pend, cmp_pending);
    c->vals = malloc((c->npend ? c->npend : 1) * sizeof *c->vals);
    c->tag_counts = calloc(c->npend ? c->npend : 1, sizeof *c->tag_counts);
    uint32_t ntags = idmap_size(c->tags);
    /* mark[t] = 1 + position in vals of tag t for the item being laid out. */
    size_t *mark = calloc(ntags ? ntags : 1, sizeof *mark);
    if (c->vals == NULL || c->tag_counts == NULL || mark == NULL) {
        free(mark);
        return err_set(err, "catalog: out of memory");
    }
    size_t nv = 0;
    for (size_t i = 0; i < c->npend;) {
        uint32_t item = c->pend[i].item, list = c->pend[i].list;
        item_rec_t *rec = &c->items[item];
        rec->at[list] = (uint32_t)nv;
        size_t j = i;
        if (list == L_TAGS) {
            for (; j < c->npend && c->pend[j].item == item && c->pend[j].list == list; j++) {
                uint64_t t = c->pend[j].val;
                if (mark[t] > rec->at[list] && mark[t] - 1 < nv && c->vals[mark[t] - 1] == t) {
                    c->tag_counts[mark[t] - 1]++;
                    continue;
                }
                mark[t] = nv + 1;
                c->vals[nv] = t;
                c->tag_counts[nv] = 1;
                nv++;
            }
        } else {
            for (; j < c->npend && c->pend[j].item == item && c->pend[j].list == list; j++)
                c->vals[nv++] = c->pend[j].val;
        }
        rec->n[list] = (uint32_t)(nv - rec->at[list]);
        i = j;
    }
    free(mark);
    c->nvals = nv;
    free(c->pend);
    c->pend = NULL;
    c->npend = c->cap_pend = 0;
    c->finished = true;
    return 0;
}

int catalog_set_rating_stats(catalog_t *c, const uint32_t *items, const float *ratings, size_t n)
{
    uint32_t *cnt = calloc(c->nitems ? c->nitems : 1, sizeof *cnt);
    double *sum = calloc(c->nitems ? c->nitems : 1, sizeof *sum);
    float *mean = calloc(c->nitems ? c->nitems : 1, sizeof *mean);
    if (cnt == NULL || sum == NULL || mean == NULL) {
        free(cnt);
        free(sum);
        free(mean);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (items[i] >= c->nitems)
            continue;
        cnt[items[i]]++;
        sum[items[i]] += ratings[i];
    }
    for (uint32_t i = 0; i < c->nitems; i++)
        mean[i] = cnt[i] ? (float)(sum[i] / cnt[i]) : 0.0f;
    free(sum);
    free(c->rcount);
    free(c->rmean);
    c->rcount = cnt;
    c->rmean = mean;
    return 0;
}

/* ---- queries ---- */

uint32_t catalog_size(const catalog_t *c)
{
    return c->nitems;
}

uint32_t catalog_find(const catalog_t *c, const char *id, size_t len)
{
    return idmap_find(c->ids, id, len);
}

const idmap_t *catalog_ids(const catalog_t *c)
{
    return c->ids;
}

const char *catalog_id(const catalog_t *c, uint32_t item)
{
    const char *s = idmap_key(c->ids, item, NULL);
    return s ? s : "";
}

const char *catalog_title(const catalog_t *c, uint32_t item)
{
    return item < c->nitems ? c->arena + c->items[item].title : "";
}

const char *catalog_overview(const catalog_t *c, uint32_t item)
{
    return item < c->nitems ? c->arena + c->items[item].overview : "";
}

int catalog_year(const catalog_t *c, uint32_t item)
{
    return item < c->nitems ? c->items[item].year : 0;
}

uint32_t catalog_ngenres(const catalog_t *c)
{
    return idmap_size(c->genres);
}

const char *catalog_genre_name(const catalog_t *c, uint32_t genre)
{
    const char *s = idmap_key(c->genres, genre, NULL);
    return s ? s : "";
}

uint32_t catalog_genre_find(const catalog_t *c, const char *name, size_t len)
{
    return idmap_find(c->genres, name, len);
}

uint64_t catalog_genre_mask(const catalog_t *c, uint32_t item)
{
    return item < c->nitems ? c->items[item].genre_mask : 0;
}

static uint32_t range_len(const catalog_t *c, uint32_t item, uint32_t list)
{
    return (c->finished && item < c->nitems) ? c->items[item].n[list] : 0;
}

uint32_t catalog_item_ngenres(const catalog_t *c, uint32_t item)
{
    return range_len(c, item, L_GENRES);
}

uint32_t catalog_item_genre(const catalog_t *c, uint32_t item, uint32_t k)
{
    if (k >= range_len(c, item, L_GENRES))
        return IDMAP_NONE;
    return (uint32_t)c->vals[c->items[item].at[L_GENRES] + k];
}

uint32_t catalog_list_len(const catalog_t *c, uint32_t item, catalog_list_t list)
{
    if ((unsigned)list >= CATALOG_NLISTS)
        return 0;
    return range_len(c, item, (uint32_t)list);
}

const char *catalog_list_at(const catalog_t *c, uint32_t item, catalog_list_t list, uint32_t k)
{
    if ((unsigned)list >= CATALOG_NLISTS || k >= range_len(c, item, (uint32_t)list))
        return "";
    return c->arena + c->vals[c->items[item].at[list] + k];
}

const char *catalog_list_name(catalog_list_t list)
{
    switch (list) {
    case CATALOG_DIRECTORS:
        return "directors";
    case CATALOG_CAST:
        return "cast";
    case CATALOG_KEYWORDS:
        return "keywords";
    default:
        return "?";
    }
}

uint32_t catalog_ntags(const catalog_t *c, uint32_t item)
{
    return range_len(c, item, L_TAGS);
}

const char *catalog_tag(const catalog_t *c, uint32_t item, uint32_t k, uint32_t *count)
{
    if (k >= range_len(c, item, L_TAGS)) {
        if (count)
            *count = 0;
        return "";
    }
    size_t at = c->items[item].at[L_TAGS] + k;
    if (count)
        *count = c->tag_counts[at];
    return idmap_key(c->tags, (uint32_t)c->vals[at], NULL);
}

uint64_t catalog_tag_applications(const catalog_t *c)
{
    return c->tag_apps;
}

int64_t catalog_imdb_id(const catalog_t *c, uint32_t item)
{
    return item < c->nitems ? c->items[item].imdb : 0;
}

int64_t catalog_tmdb_id(const catalog_t *c, uint32_t item)
{
    return item < c->nitems ? c->items[item].tmdb : 0;
}

float catalog_vote_average(const catalog_t *c, uint32_t item)
{
    return item < c->nitems ? c->items[item].vote_avg : 0.0f;
}

uint32_t catalog_vote_count(const catalog_t *c, uint32_t item)
{
    return item < c->nitems ? c->items[item].vote_count : 0;
}

float catalog_popularity(const catalog_t *c, uint32_t item)
{
    return item < c->nitems ? c->items[item].popularity : 0.0f;
}

uint32_t catalog_rating_count(const catalog_t *c, uint32_t item)
{
    return (c->rcount && item < c->nitems) ? c->rcount[item] : 0;
}

float catalog_rating_mean(const catalog_t *c, uint32_t item)
{
    return (c->rmean && item < c->nitems) ? c->rmean[item] : 0.0f;
}

bool catalog_has_rating_stats(const catalog_t *c)
{
    return c->rcount != NULL;
}

static bool contains(const char *h, size_t hl, const char *n, size_t nl)
{
    if (nl == 0)
        return true;
    for (size_t i = 0; i + nl <= hl; i++) {
        const char *p = memchr(h + i, n[0], hl - nl - i + 1);
        if (p == NULL)
            return false;
        i = (size_t)(p - h);
        if (memcmp(p, n, nl) == 0)
            return true;
    }
    return false;
}

size_t catalog_search(const catalog_t *c, const char *query, catalog_match_t mode,
                      uint32_t *out, size_t max)
{
    size_t qlen = strlen(query);
    char *q = malloc(TEXT_LOWER_MAX(qlen) + 1);
    if (q == NULL)
        return 0;
    size_t ql = text_lower(query, qlen, q, TEXT_LOWER_MAX(qlen) + 1);
    char small[1024];
    char *buf = small;
    size_t cap = sizeof small, found = 0;
    for (uint32_t i = 0; i < c->nitems; i++) {
        const char *t = c->arena + c->items[i].title;
        size_t tlen = strlen(t);
        if (TEXT_LOWER_MAX(tlen) + 1 > cap) {
            size_t ncap = TEXT_LOWER_MAX(tlen) + 1;
            char *nb = malloc(ncap);
            if (nb == NULL)
                continue;
            if (buf != small)
                free(buf);
            buf = nb;
            cap = ncap;
        }
        size_t tl = text_lower(t, tlen, buf, cap);
        bool hit;
        if (mode == CATALOG_MATCH_PREFIX)
            hit = tl >= ql && memcmp(buf, q, ql) == 0;
        else
            hit = contains(buf, tl, q, ql);
        if (hit) {
            if (found < max)
                out[found] = i;
            found++;
        }
    }
    if (buf != small)
        free(buf);
    free(q);
    return found;
}

static bool isdig(char ch)
{
    return ch >= '0' && ch <= '9';
}

int catalog_title_year(const char *title, size_t len)
{
    while (len > 0 && (title[len - 1] == ' ' || title[len - 1] == '\t'))
        len--;
    if (len < 6 || title[len - 1] != ')')
        return 0;
    /* Find the matching '(' of the last group. */
    size_t open = len - 1;
    while (open > 0 && title[open - 1] != '(' && len - open < 16)
        open--;
    if (open == 0 || title[open - 1] != '(')
        return 0;
    const char *g = title + open;
    size_t glen = len - 1 - open;
    if (glen < 4 || !isdig(g[0]) || !isdig(g[1]) || !isdig(g[2]) || !isdig(g[3]))
        return 0;
    if (glen > 4) {
        /* A range: "-" or an en dash (U+2013), then digits, spaces or nothing. */
        size_t k = 4;
        if (g[k] == '-')
            k++;
        else if (glen - k >= 3 && memcmp(g + k, "\xe2\x80\x93", 3) == 0)
            k += 3;
        else
            return 0;
        for (; k < glen; k++)
            if (!isdig(g[k]) && g[k] != ' ')
                return 0;
    }
    return (g[0] - '0') * 1000 + (g[1] - '0') * 100 + (g[2] - '0') * 10 + (g[3] - '0');
}

size_t catalog_memory(const catalog_t *c)
{
    return sizeof *c + idmap_memory(c->ids) + idmap_memory(c->genres) + idmap_memory(c->tags) +
           (size_t)c->cap_items * sizeof *c->items + c->arena_cap + c->cap_pend * sizeof *c->pend +
           c->nvals * (sizeof *c->vals + sizeof *c->tag_counts) +
           (c->rcount ? (size_t)c->nitems * (sizeof *c->rcount + sizeof *c->rmean) : 0);
}
