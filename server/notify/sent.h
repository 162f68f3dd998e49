/*
 * sent.h: how one delivery attempt ended, for every channel of orchestra-notify (webhook.h,
 * smtp.h); the target loop (target.h) decides what follows from it.
 */
#ifndef ORCI_NOTIFY_SENT_H
#define ORCI_NOTIFY_SENT_H

typedef enum orci_sent {
    ORCI_SENT_OK,      /* accepted (2xx, SMTP 250): recorded as delivered */
    ORCI_SENT_RETRY,   /* failed for now: tried again later (retry.h), then dead-lettered */
    ORCI_SENT_FAIL,    /* refused for good (SMTP 5xx): logged, counted, the next one goes */
    ORCI_SENT_SKIP,    /* nothing to send (an opted-out worker, no address): recorded */
    ORCI_SENT_ABORTED, /* the daemon is stopping: nothing is recorded, it goes again later */
} orci_sent;

#endif
