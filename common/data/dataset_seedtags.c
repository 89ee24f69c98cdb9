/*
 * dataset_seedtags.c: the TMDB notebook's intermediate table
 * processed_movies.csv (movie_id,title,tags), read as rows in file order.
 *
 * The table is not a catalog: its title join repeated six movies, and the
 * content worker must see exactly the rows the notebook saw. Strings are
 * copied into one arena; row pointers are set once the arena stops moving.
 */
#include <stdlib.h>
#include <string.h>

#include "common/data/dataset_read.h"

typedef struct offs {
    size_t id, title, tags;
} offs_t;

static int put(char **arena, size_t *len, size_t *cap, csv_field_t f, size_t *off)
{
    if (*cap - *len < f.len + 1) {
        size_t ncap = *cap ? *cap : 4096;
        while (ncap - *len < f.len + 1)
            ncap *= 2;
        char *a = realloc(*arena, ncap);
        if (a == NULL)
            return -1;
        *arena = a;
        *cap = ncap;
    }
    if (f.len)
        memcpy(*arena + *len, f.ptr, f.len);
    (*arena)[*len + f.len] = '\0';
    *off = *len;
    *len += f.len + 1;
    return 0;
}

static int parse(csv_reader_t *r, dataset_seed_tags_t **out, err_t *err)
{
    static const char *const hdr[] = {"movie_id", "title", "tags"};
    if (ds_expect_header(r, hdr, 3, err) != 0)
        return -1;
    char *arena = NULL;
    size_t alen = 0, acap = 0, n = 0, cap = 0;
    offs_t *o = NULL;
    int rc;
    while ((rc = csv_next(r, err)) == 1) {
        if (csv_expect(r, 3, err) != 0)
            goto fail;
        if (csv_field(r, 0).len == 0) {
            csv_error(r, err, "empty movie_id");
            goto fail;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 1024;
            offs_t *no = realloc(o, ncap * sizeof *no);
            if (no == NULL)
                goto oom;
            o = no;
            cap = ncap;
        }
        if (put(&arena, &alen, &acap, csv_field(r, 0), &o[n].id) != 0 ||
            put(&arena, &alen, &acap, csv_field(r, 1), &o[n].title) != 0 ||
            put(&arena, &alen, &acap, csv_field(r, 2), &o[n].tags) != 0)
            goto oom;
        n++;
    }
    if (rc < 0)
        goto fail;
    dataset_seed_tags_t *t = calloc(1, sizeof *t);
    dataset_seed_row_t *rows = calloc(n ? n : 1, sizeof *rows);
    if (t == NULL || rows == NULL) {
        free(t);
        free(rows);
        goto oom;
    }
    for (size_t i = 0; i < n; i++) {
        rows[i].movie_id = arena + o[i].id;
        rows[i].title = arena + o[i].title;
        rows[i].tags = arena + o[i].tags;
    }
    free(o);
    t->n = n;
    t->rows = rows;
    t->arena = arena;
    *out = t;
    return 0;
oom:
    csv_error(r, err, "out of memory");
fail:
    free(o);
    free(arena);
    return -1;
}

int dataset_seed_tags_parse(const char *name, const char *data, size_t len,
                            dataset_seed_tags_t **out, err_t *err)
{
    csv_reader_t *r = csv_open_buffer(name, data, len, NULL, err);
    if (r == NULL)
        return -1;
    int rc = parse(r, out, err);
    csv_close(r);
    return rc;
}

int dataset_seed_tags_read(const char *path, dataset_seed_tags_t **out, err_t *err)
{
    const char *slash = strrchr(path, '/');
    csv_reader_t *r = csv_open_file(path, slash ? slash + 1 : path, NULL, err);
    if (r == NULL)
        return -1;
    int rc = parse(r, out, err);
    csv_close(r);
    return rc;
}

void dataset_seed_tags_free(dataset_seed_tags_t *t)
{
    if (t == NULL)
        return;
    free(t->rows);
    free(t->arena);
    free(t);
}
