/*
 * gw_grpc_svc.h: the standard gRPC services the gateway serves beside
 * recsys.v1.Recommender (gw_grpc_svc.c):
 *
 *   grpc.health.v1.Health/Check      SERVING while the gateway is ready (both
 *                                    workers up; gw_ready), NOT_SERVING
 *                                    otherwise, for "" and
 *                                    "recsys.v1.Recommender"; NOT_FOUND for
 *                                    any other service name.
 *   grpc.reflection.v1alpha and v1   ServerReflectionInfo: list_services,
 *   .ServerReflection/ServerReflectionInfo   file_by_filename,
 *                                    file_containing_symbol (the file whose
 *                                    package prefixes the symbol); anything
 *                                    else answers an error_response.
 *
 * Reflection is a bidirectional stream: each request message is answered as
 * soon as it has arrived (httpsrv_route_stream), so clients that ask, wait
 * for the answer and ask again on one stream (grpcurl) are served, and so
 * are clients that send everything and half-close first.
 */
#ifndef RECSYS_GATEWAY_GW_GRPC_SVC_H
#define RECSYS_GATEWAY_GW_GRPC_SVC_H

#include <stdbool.h>
#include <stddef.h>

#include "common/base/err.h"
#include "common/net/httpsrv.h"

/* One serialized FileDescriptorSet holding one file, made by protoc at build
 * time (embed_descriptors.cmake); the table ends with a NULL name. */
typedef struct gw_grpc_descriptor {
    const char *name; /* "recsys/v1/recommender.proto" */
    const unsigned char *set;
    size_t len;
} gw_grpc_descriptor_t;

extern const gw_grpc_descriptor_t gw_grpc_descriptors[];

typedef bool (*gw_grpc_ready_fn)(void *ud, char *reason, size_t size);

/* What Check asks: ready(ud). Lives as long as srv (the caller's context). */
typedef struct gw_grpc_svc {
    gw_grpc_ready_fn ready;
    void *ud;
} gw_grpc_svc_t;

/* Registers the health and reflection routes on srv. */
int gw_grpc_svc_register(httpsrv_t *srv, gw_grpc_svc_t *svc, err_t *err);

#endif
