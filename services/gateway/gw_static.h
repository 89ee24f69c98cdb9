/*
 * gw_static.h: the web page on the gateway's public port.
 *
 * The files of web/ (plain HTML, CSS, JavaScript, an SVG icon) are compiled
 * into the binary (tools/embed-web.cmake writes gw_web_assets.c into the
 * build tree), so the page needs nothing beside the gateway and works
 * offline. Routes, when the web-page option is on:
 *   GET /                 index.html
 *   GET /assets/{name}    any other file of web/ (unknown: 404 not_found)
 * HEAD is answered by the same routes without the body (common/net/httpsrv.h).
 *
 * Every answer carries a strong ETag (hash of the file, fixed at build time)
 * and "Cache-Control: no-cache" (the browser keeps a copy and revalidates it:
 * an If-None-Match naming the ETag gets 304 without a body, so a new build is
 * seen at once and an unchanged file costs no bytes), the file's content
 * type, "X-Content-Type-Options: nosniff", and a Content-Security-Policy
 * allowing only the page's own origin (no inline script or style, no other
 * host: the page calls the public JSON API of the same gateway).
 */
#ifndef RECSYS_GATEWAY_GW_STATIC_H
#define RECSYS_GATEWAY_GW_STATIC_H

#include <stdbool.h>
#include <stddef.h>

#include "common/base/config.h"
#include "common/base/err.h"
#include "common/net/httpsrv.h"

/* One embedded file. */
typedef struct gw_asset {
    const char *name;         /* file name in web/ ("index.html", "app.js") */
    const char *content_type; /* from the extension */
    const unsigned char *data;
    size_t len;
    const char *etag; /* quoted: "\"0123456789abcdef\"" */
} gw_asset_t;

/* The embedded files, sorted by name (generated: gw_web_assets.c). */
extern const gw_asset_t gw_web_assets[];
extern const size_t gw_web_nassets;

/* web-page (web section of --help). */
extern const cfg_option_t gw_static_options[];

/* The Content-Security-Policy every page answer carries. */
extern const char gw_static_csp[];

/* The embedded file called name, or NULL. */
const gw_asset_t *gw_static_find(const char *name);

/* Whether an If-None-Match header value (a list of entity tags, weak or
 * strong, or "*") names etag, by the weak comparison RFC 9110 prescribes for
 * If-None-Match. NULL header: false. */
bool gw_static_etag_match(const char *header, const char *etag);

/* Registers GET / and GET /assets/{name} on srv when cfg's web-page is
 * true; nothing otherwise (then / is an unknown route like any other). */
int gw_static_routes(httpsrv_t *srv, const cfg_t *cfg, err_t *err);

#endif
