/* SPDX-License-Identifier: GPL-2.0 */
/*
 * plasmatic: what the commands share.
 *
 *   main.c      dispatch, the main usage text and exit codes
 *   opts.c      the option parser every command uses: a command declares
 *               its options in tables (struct optdef)
 *   tunnel.c    what connect and listen share: their options, addresses,
 *               the PSK and context, the relay between fds and a tunnel
 *   keygen.c, connect.c, listen.c, inspect.c, shape.c: a command each
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
	EX_USAGE_ = 2,		/* bad command line */
	EX_FILE = 3,		/* certificate, key, CA or PSK file */
	EX_NET = 4,		/* resolve, connect, bind, listen */
	EX_TLS = 5,		/* TLS handshake failed */
	EX_RECORD = 6,		/* Plasmatic record failure: PSK mismatch, ... */
	EX_KERNEL = 7,		/* kernel datapath missing or refused */
};

extern int verbose;

/*
 * Messages on stderr: "plasmatic: [TAG: ]TEXT".  msg_tag is the command's
 * name for the commands that say it (inspect).
 */
extern const char *msg_tag;
void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The exit code for a libplasmatic error code. */
int code_to_exit(int code);

/* ------------------------------------------------------------ options */

enum opt_kind {
	OPT_FLAG,	/* no argument; stores lo */
	OPT_STR,	/* a string (const char *) */
	OPT_INT,	/* a decimal number in lo..hi */
	OPT_CHOICE,	/* one of words */
	OPT_FUNC,	/* fn parses and stores it */
	OPT_HELP,	/* -h, --help: the usage text, exit 0 */
};

struct opt_word {
	const char *name;
	int value;
};

/*
 * One option: "--NAME" (and "-LETTER") on the command line.  Its value goes to var, or else to the field at
 * off in the command's options (base); size is the field's (1, 2, 4 or 8
 * bytes: integers, enums, bools, pointers).
 */
struct optdef {
	const char *name;	/* NULL ends a table */
	int letter;		/* short option, or 0 */
	enum opt_kind kind;
	void *var;
	size_t off, size;
	long lo, hi;
	/* A bad value: "bad --NAME 'VALUE': HINT"; OPT_INT's hint is a
	 * format with lo and hi (default "a number from %ld to %ld"). */
	const char *hint;
	const struct opt_word *words;	/* OPT_CHOICE, to a NULL name */
	/* OPT_FUNC: 0, or -1 after a message; what is "--NAME". */
	int (*fn)(void *base, const char *val, const char *what);
};

#define OPT_FIELD(type, field) \
	.off = offsetof(type, field), .size = sizeof(((type *)0)->field)
#define OPT_VAR(v) .var = &(v), .size = sizeof(v)

/* The -h/--help entry, for a command's tables. */
extern const struct optdef opt_help[];

struct command {
	const char *name;
	int (*run)(int argc, char **argv);	/* argv[0] is the name */
	void (*usage)(FILE *f);
	const struct optdef *const *tables;	/* to NULL */
	bool tagged;		/* messages start "plasmatic: NAME: " */
};

/* Every command, to NULL (main.c). */
extern const struct command *const commands[];
const struct command *command_find(const char *name);

extern const struct command cmd_keygen, cmd_connect, cmd_listen,
	cmd_inspect, cmd_shape;

/*
 * Parse argv (argv[0] the command's name) into base with cmd's tables.
 * The arguments that are not options stay in argv, from
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

/* Set d's value from val (NULL for a flag); what is "--NAME".  0, or -1 after a message. */
int opt_set(const struct optdef *d, void *base, const char *val,
	    const char *what);

/* A decimal number in lo..hi: 0, or -1. */
int parse_long(const char *s, long lo, long hi, long *out);

#endif
