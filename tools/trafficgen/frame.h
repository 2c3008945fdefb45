/* Test frames for pcn-trafficgen: Ethernet + IPv4 + UDP of a fixed size. */
#ifndef TRAFFICGEN_FRAME_H
#define TRAFFICGEN_FRAME_H

#include <stddef.h>
#include <stdint.h>

/* Smallest and largest frame (without FCS) tg_frame_build accepts. */
#define TG_FRAME_MIN 60
#define TG_FRAME_MAX 1514

/* Fills buf (size bytes, TG_FRAME_MIN..TG_FRAME_MAX) with a UDP frame from
 * 10.250.0.1:9 to 10.250.0.2:9 with the given MACs and a valid IPv4
 * checksum. Returns 0 or -EINVAL. */
int tg_frame_build(uint8_t *buf, size_t size, const uint8_t src_mac[6], const uint8_t dst_mac[6]);

/* Parses "aa:bb:cc:dd:ee:ff". Returns 0 or -EINVAL. */
int tg_mac_parse(const char *s, uint8_t mac[6]);

#endif
