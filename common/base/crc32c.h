/*
 * crc32c.h: CRC-32C (Castagnoli), the checksum of model files.
 *
 * On x86-64 CPUs with SSE4.2 (every x86-64-v2/v3 machine) the crc32
 * instruction does 8 bytes per step; elsewhere a slicing-by-8 table does.
 * Both give the same value. CRC32C("123456789") = 0xE3069283.
 */
#ifndef RECSYS_COMMON_CRC32C_H
#define RECSYS_COMMON_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continues a checksum: start with crc = 0; crc32c(crc32c(0, a), b) is the
 * checksum of a followed by b. */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);
/* The portable table version (tests compare it with the hardware one). */
uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len);
/* 1 when crc32c() uses the SSE4.2 instruction on this CPU. */
int crc32c_hw_available(void);

#endif
