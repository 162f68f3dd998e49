/*
 * slug.h: upstream's slug rule (Django's SlugField: letters, digits, '-' and '_').
 *
 * Workflow, version, certification and step slugs name folders and URLs (a workflow's
 * files are served from its folder), so every slug that enters the system is checked.
 */
#ifndef ORCI_SLUG_H
#define ORCI_SLUG_H

#include <stdbool.h>

/* orci_slug_valid says whether s is a non-empty slug of ASCII letters, digits, - and _. */
bool orci_slug_valid(const char *s);

#endif
