/* isolate: copying out of a finished container (copy.c). */
#pragma once

#include "common.h"

int isolate_copy_entry(int src_dir, const char *name, int dst_dir, const char *dst_name,
                       unsigned depth);
int isolate_copy_artifact(int root_fd, const char *path, const char *artifacts_dir, ThError *err);
