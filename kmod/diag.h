/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _PLASMATIC_DIAG_H
#define _PLASMATIC_DIAG_H

#include "compat.h"

int pl_diag_get_info(PL_DIAG_GET_INFO_ARGS);
size_t pl_diag_get_info_size(const struct sock *sk);

#endif /* _PLASMATIC_DIAG_H */
