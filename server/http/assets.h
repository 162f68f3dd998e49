/*
 * assets.h: the web app's files, embedded in orchestra-http at build time
 * (cmake/embed_assets.cmake writes the table from server/http/web/), so that an installed
 * binary, `make demo` and CI need nothing beside it. "static/..." files are served as they
 * are under /orchestra/static/; "templates/..." are pages the shim fills in.
 */
#ifndef ORCI_ASSETS_H
#define ORCI_ASSETS_H

#include <stddef.h>

typedef struct orci_asset {
    const char *path;         /* relative to server/http/web/, e.g. "static/app.css" */
    const char *content_type; /* from the file name's extension */
    const unsigned char *data;
    size_t len;
    const char *etag; /* a quoted hash of the content */
} orci_asset;

extern const orci_asset orci_assets[];
extern const size_t orci_assets_count;

/* orci_asset_find returns the file at path, or NULL. */
const orci_asset *orci_asset_find(const char *path);

#endif
