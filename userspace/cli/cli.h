/* SPDX-License-Identifier: GPL-2.0 */
/*
 * plasmatic: what the commands share.
 *
 *   main.c      dispatch, the main usage text and exit codes
 *   opts.c      the option parser every command uses: a command declares
 *               its options in tables (struct optdef); the same tables
 *               give the long options and the keys of configuration files
 *   config.c    configuration files (INI, read with libinih)
 *   tunnel.c    what connect and listen share: their options, addresses,
 *               the PSK and context, the relay between fds and a tunnel
 *   keygen.c, connect.c, listen.c, inspect.c, shape.c, check_config.c,
 *   proxy.c, relay.c: a command each
 *   tunreq.c    what proxy and relay share: the request inside the tunnel,
 *               the copying of a stream both ways
 *   netpolicy.c the relay's destination address policy
 */
#ifndef PLASMATIC_CLI_H
#define PLASMATIC_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Exit codes (the main usage text in main.c lists them). */
enum {
	EX_OK_ = 0,
	EX_IO = 1,		/* local I/O or network I/O after the handshake */
	EX_USAGE_ = 2,		/* bad command line or configuration file */
	EX_FILE = 3,		/* certificate, key, CA, PSK or config file */
	EX_NET = 4,		/* resolve, connect, bind, listen */
	EX_TLS = 5,		/* TLS handshake failed */
	EX_RECORD = 6,		/* Plasmatic record failure: PSK mismatch, ... */
	EX_KERNEL = 7,		/* kernel datapath missing or refused */
};

extern int verbose;

/*
 * Run the command line argv (argv[1] the command) and return the exit
 * status; main() is this with parse_only false.  parse_only stops each
 * command right after its options and arguments are parsed and checked,
 * before any file (--config's too), socket or key is touched: the same
 * messages and exit status for a bad command line, 0 for a good one (a
 * seam for fuzzing the parser; every run starts afresh: verbose 0, no
 * message tag, configuration strings released at the end).
 */
int plasmatic_run(int argc, char **argv, bool parse_only);
extern bool cli_parse_only;	/* plasmatic_run()'s parse_only */

/*
 * Messages on stderr: "plasmatic: [TAG: ][WHERE]TEXT".  msg_tag is the
 * command's name for the commands that say it (inspect); msg_where the
 * place in a configuration file ("FILE:LINE: ") while one is read.
 */
extern const char *msg_tag;
extern const char *msg_where;
void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The exit code for a libplasmatic error code. */
int code_to_exit(int code);

/* ------------------------------------------------------------ options */

enum opt_kind {
	OPT_FLAG,	/* no argument; stores lo (in a file: yes lo, no hi) */
	OPT_STR,	/* a string (const char *) */
	OPT_INT,	/* a decimal number in lo..hi */
	OPT_CHOICE,	/* one of words */
	OPT_FUNC,	/* fn parses and stores it */
	OPT_HELP,	/* -h, --help: the usage text, exit 0 */
	OPT_CONFIG,	/* --config FILE */
};

/* Where an option can be given. */
enum {
	OPTF_ARGV_ONLY = 1,	/* not a configuration key (help, config) */
	OPTF_FILE_ONLY = 2,	/* a key for what argv gives as an argument */
};

struct opt_word {
	const char *name;
	int value;
};

/*
 * One option: "--NAME" (and "-LETTER") on the command line, "NAME = VALUE"
 * in a configuration file.  Its value goes to the field at off in the
 * command's options (base); size is the field's (1, 2, 4 or 8 bytes:
 * integers, enums, bools, pointers).
 */
struct optdef {
	const char *name;	/* NULL ends a table */
	int letter;		/* short option, or 0 */
	enum opt_kind kind;
	unsigned int flags;	/* OPTF_* */
	size_t off, size;
	long lo, hi;
	/* A bad value: "bad --NAME 'VALUE': HINT"; OPT_INT's hint is a
	 * format with lo and hi (default "a number from %ld to %ld"). */
	const char *hint;
	const struct opt_word *words;	/* OPT_CHOICE, to a NULL name */
	/* OPT_FUNC: 0, or -1 after a message; what is "--NAME" or "NAME". */
	int (*fn)(void *base, const char *val, const char *what);
};

#define OPT_FIELD(type, field) \
	.off = offsetof(type, field), .size = sizeof(((type *)0)->field)

/* The -h/--help and --config entries, for a command's tables. */
extern const struct optdef opt_help[];
extern const struct optdef opt_config[];

struct command {
	const char *name;
	int (*run)(int argc, char **argv);	/* argv[0] is the name */
	void (*usage)(FILE *f);
	const struct optdef *const *tables;	/* to NULL */
	/*
	 * Configuration: the keys of section [name] are the options of the
	 * tables (OPTF_ARGV_ONLY excepted).  Another command's section is
	 * checked in a zeroed struct of opts_size bytes, then opts_free()d.
	 */
	bool config;
	size_t opts_size;
	void (*opts_free)(void *opts);
	bool tagged;		/* messages start "plasmatic: NAME: " */
};

/* Every command, to NULL (main.c). */
extern const struct command *const commands[];
const struct command *command_find(const char *name);

extern const struct command cmd_keygen, cmd_connect, cmd_listen,
	cmd_inspect, cmd_shape, cmd_sockets, cmd_check_config, cmd_proxy,
	cmd_relay, cmd_serve, cmd_get;

/*
 * Parse argv (argv[0] the command's name) into base with cmd's tables;
 * with --config FILE, then the file's section [cmd->name] for what argv
 * did not give.  The arguments that are not options stay in argv, from
 * *first on.  0; -1 after --help (exit 0); or an exit code after a
 * message.
 */
int opt_parse(const struct command *cmd, int argc, char **argv, void *base,
	      int *first);

/*
 * The arguments from first on must be exactly n (n is 0 or 1; what names
 * the missing one): 0, or EX_USAGE_ after a message.
 */
int opt_args(const struct command *cmd, int argc, char **argv, int first,
	     int n, const char *what);

/* The entry of cmd's tables for a configuration key, or NULL. */
const struct optdef *opt_key(const struct command *cmd, const char *key);

/* Set d's value from val (NULL: a flag on the command line); what is
 * "--NAME" or "NAME".  0, or -1 after a message. */
int opt_set(const struct optdef *d, void *base, const char *val,
	    const char *what);

/* A decimal number in lo..hi: 0, or -1. */
int parse_long(const char *s, long lo, long hi, long *out);

/* --------------------------------------------------- configuration */

/*
 * Read and check the whole of FILE: every section names a command that
 * reads configuration files, every key is one of its options, given once,
 * with a good value.  The keys of section [cmd->name] (cmd NULL: none) go
 * into base, but for the options in given[0..ngiven) (the command line's).
 * 0; EX_USAGE_ after a "FILE:LINE: ..." message for the first error;
 * EX_FILE if it cannot be read.  The strings stay until config_release().
 */
int config_load(const char *file, const struct command *cmd, void *base,
		const struct optdef *const *given, size_t ngiven);
void config_release(void);

#endif
