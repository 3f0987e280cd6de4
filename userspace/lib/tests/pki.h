/* SPDX-License-Identifier: GPL-2.0 */
#ifndef PLASMATIC_TEST_PKI_H
#define PLASMATIC_TEST_PKI_H

/* Make DIR/{ca,other-ca,server}.pem and DIR/server.key: 0 or -1. */
int pki_make(const char *dir);

#endif
