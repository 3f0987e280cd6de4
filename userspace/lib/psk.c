// SPDX-License-Identifier: GPL-2.0
/*
 * Pre-shared key: one page, mlock'ed and excluded from core dumps, wiped
 * and unmapped when freed.  File format in plasmatic.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "internal.h"

struct pl_psk {
	uint8_t key[PL_PSK_BYTES];
	size_t map_len;
	int locked;
};

static struct pl_psk *psk_alloc(struct pl_error *err)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t len = page > 0 ? (size_t)page : 4096;
	struct pl_psk *psk;

	psk = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (psk == MAP_FAILED) {
		if (err)
			err->sys_errno = errno;
		pl_err_set(err, PL_E_NOMEM, "cannot map a page for the PSK: %s",
			   strerror(errno));
		return NULL;
	}
	/* Best effort: RLIMIT_MEMLOCK may forbid it; pl_psk_locked() says. */
	psk->locked = mlock(psk, len) == 0;
	/*
	 * Kept out of core dumps, but not MADV_DONTFORK: servers fork a
	 * process per connection, and that child needs the key (with
	 * DONTFORK it would read an unmapped page).  A child that execs
	 * drops its copy with the rest of the old image.
	 */
	madvise(psk, len, MADV_DONTDUMP);
	psk->map_len = len;
	return psk;
}

void pl_psk_free(struct pl_psk *psk)
{
	size_t len;

	if (!psk)
		return;
	len = psk->map_len;
	OPENSSL_cleanse(psk->key, sizeof(psk->key));
	if (psk->locked)
		munlock(psk, len);
	munmap(psk, len);
}

int pl_psk_locked(const struct pl_psk *psk)
{
	return psk ? psk->locked : 0;
}

const uint8_t *pl_psk_bytes(const struct pl_psk *psk)
{
	return psk ? psk->key : NULL;
}

struct pl_psk *pl_psk_from_bytes(const uint8_t key[PL_PSK_BYTES],
				 struct pl_error *err)
{
	struct pl_psk *psk;

	pl_err_clear(err);
	if (!key) {
		pl_err_set(err, PL_E_INVAL, "PSK: no key given");
		return NULL;
	}
	psk = psk_alloc(err);
	if (psk)
		memcpy(psk->key, key, PL_PSK_BYTES);
	return psk;
}

int pl_psk_parse(const char *text, size_t len, uint8_t key[PL_PSK_BYTES])
{
	const size_t tag_len = strlen(PL_PSK_FILE_TAG);
	const char *line = text, *end = text + len, *nl, *p;
	int found = 0;

	while (line < end) {
		nl = memchr(line, '\n', (size_t)(end - line));
		if (!nl)
			nl = end;
		p = line;
		line = nl + 1;
		if (nl > p && nl[-1] == '\r')
			nl--;
		if (p == nl || *p == '#')
			continue;
		if (found)
			return -1;	/* one key line only */
		if ((size_t)(nl - p) != tag_len + 1 + 2 * PL_PSK_BYTES ||
		    memcmp(p, PL_PSK_FILE_TAG, tag_len) || p[tag_len] != ' ')
			return -1;
		p += tag_len + 1;
		for (int i = 0; i < PL_PSK_BYTES; i++) {
			int hi = pl_hex_digit((unsigned char)p[2 * i]);
			int lo = pl_hex_digit((unsigned char)p[2 * i + 1]);

			if (hi < 0 || lo < 0)
				return -1;
			key[i] = (uint8_t)(hi << 4 | lo);
		}
		found = 1;
	}
	return found ? 0 : -1;
}

struct pl_psk *pl_psk_load(const char *path, struct pl_error *err)
{
	char text[1024];
	struct pl_psk *psk = NULL;
	struct stat st;
	ssize_t n;
	size_t len = 0;
	int fd, rc;

	pl_err_clear(err);
	if (!path || !*path) {
		pl_err_set(err, PL_E_INVAL, "PSK: no file name given");
		return NULL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (err)
			err->sys_errno = errno;
		pl_err_set(err, PL_E_PSK_FILE, "cannot open PSK file %s: %s",
			   path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st)) {
		if (err)
			err->sys_errno = errno;
		pl_err_set(err, PL_E_PSK_FILE, "cannot stat PSK file %s: %s",
			   path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		pl_err_set(err, PL_E_PSK_FILE, "PSK file %s is not a regular file",
			   path);
		goto out;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		pl_err_set(err, PL_E_PSK_PERM,
			   "PSK file %s is accessible by group or others (mode %04o): refusing it; run chmod 600 %s",
			   path, (unsigned int)(st.st_mode & 07777), path);
		goto out;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		pl_err_set(err, PL_E_PSK_PERM,
			   "PSK file %s is owned by uid %u, not by you (uid %u) or root: refusing it",
			   path, (unsigned int)st.st_uid, (unsigned int)geteuid());
		goto out;
	}
	while (len < sizeof(text)) {
		n = read(fd, text + len, sizeof(text) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (err)
				err->sys_errno = errno;
			pl_err_set(err, PL_E_PSK_FILE, "cannot read PSK file %s: %s",
				   path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len == sizeof(text)) {
		pl_err_set(err, PL_E_PSK_FILE, "PSK file %s is too long", path);
		goto out;
	}
	psk = psk_alloc(err);
	if (!psk)
		goto out;
	rc = pl_psk_parse(text, len, psk->key);
	if (rc) {
		pl_psk_free(psk);
		psk = NULL;
		pl_err_set(err, PL_E_PSK_FILE,
			   "PSK file %s is malformed: expected one line \"%s <64 hex digits>\" (make one with: plasmatic keygen -o FILE)",
			   path, PL_PSK_FILE_TAG);
	}
out:
	OPENSSL_cleanse(text, sizeof(text));
	close(fd);
	return psk;
}

int pl_psk_generate(const char *path, struct pl_error *err)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t key[PL_PSK_BYTES];
	char line[sizeof(PL_PSK_FILE_TAG) + 2 * PL_PSK_BYTES + 2];
	size_t tag_len = strlen(PL_PSK_FILE_TAG), len, off = 0;
	int fd, rc = -1, to_stdout = !path || !strcmp(path, "-");
	ssize_t n;

	pl_err_clear(err);
	if (RAND_priv_bytes(key, sizeof(key)) != 1) {
		pl_err_set(err, PL_E_SYS, "no random bytes from OpenSSL");
		pl_err_append_ssl(err);
		return -1;
	}
	memcpy(line, PL_PSK_FILE_TAG, tag_len);
	line[tag_len] = ' ';
	for (int i = 0; i < PL_PSK_BYTES; i++) {
		line[tag_len + 1 + 2 * i] = hex[key[i] >> 4];
		line[tag_len + 2 + 2 * i] = hex[key[i] & 15];
	}
	len = tag_len + 1 + 2 * PL_PSK_BYTES;
	line[len++] = '\n';
	OPENSSL_cleanse(key, sizeof(key));

	if (to_stdout) {
		fd = STDOUT_FILENO;
	} else {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY,
			  0600);
		if (fd < 0) {
			if (err)
				err->sys_errno = errno;
			pl_err_set(err, errno == EEXIST ? PL_E_PSK_FILE : PL_E_SYS,
				   errno == EEXIST ?
				   "%s exists: refusing to overwrite a key file" :
				   "cannot create %s: %s", path, strerror(errno));
			goto out;
		}
		/* O_CREAT's mode is masked by the umask: make sure of 0600. */
		if (fchmod(fd, 0600)) {
			if (err)
				err->sys_errno = errno;
			pl_err_set(err, PL_E_SYS, "chmod %s: %s", path,
				   strerror(errno));
			goto fail_unlink;
		}
	}
	while (off < len) {
		n = write(fd, line + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (err)
				err->sys_errno = errno;
			pl_err_set(err, PL_E_SYS, "write %s: %s",
				   to_stdout ? "stdout" : path, strerror(errno));
			goto fail_unlink;
		}
		off += (size_t)n;
	}
	if (!to_stdout && fsync(fd)) {
		if (err)
			err->sys_errno = errno;
		pl_err_set(err, PL_E_SYS, "fsync %s: %s", path, strerror(errno));
		goto fail_unlink;
	}
	rc = 0;
	goto close_out;
fail_unlink:
	if (!to_stdout)
		unlink(path);
close_out:
	if (!to_stdout)
		close(fd);
out:
	OPENSSL_cleanse(line, sizeof(line));
	return rc;
}
