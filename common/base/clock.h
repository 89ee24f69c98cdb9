/*
 * clock.h: the project's one source of time. Monotonic clocks measure
 * durations and deadlines; the wall clock stamps events, logs and versions.
 */
#ifndef RECSYS_BASE_CLOCK_H
#define RECSYS_BASE_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Monotonic time since an arbitrary start, in microseconds, milliseconds and
 * (fractional) seconds. */
uint64_t clock_mono_us(void);
int64_t clock_mono_ms(void);
double clock_mono_sec(void);

/* Wall-clock time since the Unix epoch in milliseconds. */
int64_t clock_wall_ms(void);

/* The wall-clock instant ms milliseconds from now, for timed waits such as
 * pthread_cond_timedwait (which use CLOCK_REALTIME). */
struct timespec clock_wall_after(int64_t ms);

#endif
