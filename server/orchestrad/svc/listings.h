/*
 * listings.h: the listing handlers (listings.c), read-only, on the worker thread's reader.
 */
#ifndef ORCI_SVC_LISTINGS_H
#define ORCI_SVC_LISTINGS_H

#include "svc/services.h"

ORCI_SVC_RUN(orci_svc_list_projects);
ORCI_SVC_RUN(orci_svc_list_workers);
ORCI_SVC_RUN(orci_svc_list_tasks);
ORCI_SVC_RUN(orci_svc_list_certifications);
ORCI_SVC_RUN(orci_svc_list_keys);

#endif
