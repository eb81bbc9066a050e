/* runner: suites that a command writes and then runs through `harness run`
 * (gensuite.c). A command such as `harness pkg check` turns its arguments
 * into an ordinary suite directory (the YAML file, the files its fixtures
 * bind, the local .debs its `install:` names), so that what it runs is
 * exactly what a maintainer gets from printing the suite and running it by
 * hand, and every option of `harness run` works on it. */
#pragma once

#include <stdio.h>
#include <sys/types.h>

#include "common.h"

typedef struct GenSuite {
        char *dir;    /* absolute; created fresh by runner_gensuite_open() */
        char **paths; /* dir/NAME.yaml of each suite written */
        FILE *yaml;   /* the suite's text, written by the caller */
        char *text;
        size_t len;
} GenSuite;

/* Creates DIR (emptied if it exists) and an empty YAML text in g->yaml. */
int runner_gensuite_open(GenSuite *g, const char *dir, ThError *err);
void runner_gensuite_done(GenSuite *g);

/* Writes a file of the suite's directory, REL relative to it (parents
 * created), with MODE. */
int runner_gensuite_write(GenSuite *g, const char *rel, const void *data, size_t len, mode_t mode,
                          ThError *err);

/* Brings a host file into the suite's directory as REL: a hard link where
 * the file systems allow one, else a copy keeping its modification time
 * (the `install:` cache keys on it). */
int runner_gensuite_add_file(GenSuite *g, const char *source, const char *rel, ThError *err);

/* Writes g->yaml's text to DIR/NAME.yaml, adds it to g->paths, and
 * starts an empty text for the next suite. */
int runner_gensuite_finish(GenSuite *g, const char *name, ThError *err);

/* Writes S as a YAML double-quoted scalar. */
void runner_yaml_quote(FILE *f, const char *s);

/* Runs suites through `harness run` in this process: argv is "run", then
 * PASS (options of `harness run`, NULL-terminated), "--" and PATHS (some of
 * g->paths). Returns `harness run`'s exit status. */
int runner_gensuite_run(char *const *paths, char *const *pass);
