/*
 * gw_static.c: the embedded web page and its headers (see gw_static.h).
 *
 * The handlers are answered at once from memory: the body points into the
 * binary's read-only data and httpsrv copies it. A 304 carries the ETag and
 * the caching headers again (RFC 9110 15.4.5) but no body and no
 * Content-Type.
 */
#include "services/gateway/gw_static.h"

#include <stdio.h>
#include <string.h>

#include "services/gateway/gw_twirp.h"

const cfg_option_t gw_static_options[] = {
    {"web-page", CFG_BOOL, "true",
     "Serve the web page on the public port: GET / and /assets/... (false: / is 404 like any unknown path).", 0, 0},
    CFG_END,
};

const char gw_static_csp[] = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
                             "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
                             "form-action 'self'; frame-ancestors 'none'";

const gw_asset_t *gw_static_find(const char *name)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < gw_web_nassets; i++)
        if (strcmp(gw_web_assets[i].name, name) == 0)
            return &gw_web_assets[i];
    return NULL;
}

bool gw_static_etag_match(const char *header, const char *etag)
{
    if (header == NULL)
        return false;
    size_t elen = strlen(etag);
    const char *p = header;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '\0')
            return false;
        if (*p == '*')
            return true;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        if (*p != '"')
            return false; /* not an entity tag: a malformed list matches nothing */
        const char *end = strchr(p + 1, '"');
        if (end == NULL)
            return false;
        if ((size_t)(end + 1 - p) == elen && memcmp(p, etag, elen) == 0)
            return true;
        p = end + 1;
    }
}

static void respond_asset(httpsrv_req_t *r, const gw_asset_t *a)
{
    httpsrv_req_add_header(r, "ETag", a->etag);
    httpsrv_req_add_header(r, "Cache-Control", "no-cache");
    httpsrv_req_add_header(r, "X-Content-Type-Options", "nosniff");
    httpsrv_req_add_header(r, "Content-Security-Policy", gw_static_csp);
    httpsrv_req_add_header(r, "Referrer-Policy", "no-referrer");
    httpsrv_req_add_header(r, "X-Frame-Options", "DENY");
    if (gw_static_etag_match(httpreq_header(httpsrv_req_http(r), "If-None-Match"), a->etag))
        httpsrv_respond(r, 304, NULL, NULL, 0);
    else
        httpsrv_respond(r, 200, a->content_type, a->data, a->len);
}

static void on_index(httpsrv_req_t *r, void *ud)
{
    (void)ud;
    const gw_asset_t *a = gw_static_find("index.html");
    if (a == NULL)
        gw_respond_error(r, GW_NOT_FOUND, "this gateway was built without web/index.html", NULL);
    else
        respond_asset(r, a);
}

static void on_asset(httpsrv_req_t *r, void *ud)
{
    (void)ud;
    const char *name = httpsrv_req_param(r, "name");
    const gw_asset_t *a = gw_static_find(name);
    if (a == NULL) {
        char msg[200];
        snprintf(msg, sizeof msg, "no asset '%.80s' (the page's files are /, /assets/app.js, /assets/style.css, ...)",
                 name != NULL ? name : "");
        const char *meta[] = {"asset", name != NULL ? name : "", NULL};
        gw_respond_error(r, GW_NOT_FOUND, msg, meta);
        return;
    }
    respond_asset(r, a);
}

int gw_static_routes(httpsrv_t *srv, const cfg_t *cfg, err_t *err)
{
    if (!cfg_bool(cfg, "web-page"))
        return 0;
    if (httpsrv_route(srv, "GET", "/", on_index, NULL, err) != 0 ||
        httpsrv_route(srv, "GET", "/assets/{name}", on_asset, NULL, err) != 0)
        return -1;
    return 0;
}
