/*
 * call_id.c: orc_call_id of orchestra/call.h, the public face of orci_call_with_id.
 */
#include "call.h"
#include "orchestra/call.h"

int orc_call_id(orc_client *c, const char *method, const char *request_id, const orc_creds *creds,
                const void *body, size_t body_len, void **reply_body, size_t *reply_len,
                orc_error *err)
{
    return orci_call_with_id(c, method, request_id, creds, body, body_len, reply_body, reply_len,
                             err);
}
