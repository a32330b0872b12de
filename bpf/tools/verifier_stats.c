// SPDX-License-Identifier: Apache-2.0
/*
 * Prints what the kernel's verifier spends on each program of a BPF object: each program is loaded alone (the others
 * not), with the verifier's statistics asked for (log level 4), and its last lines are printed: instructions
 * processed, states, peak states, the verifier's own time, and the stack depth of each function. The work the
 * verifier does is CPU the application pays when memleak4j starts; this shows where it goes.
 * Needs root (or CAP_BPF + CAP_PERFMON). Built and run by `make -C bpf verifier-stats`.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/libbpf.h>

/* The kernel's UAPI value (6.13+): what the loader sets for the uprobe session program. */
#define ATTACH_TYPE_UPROBE_SESSION 57
#define LOG_SIZE (16 << 20)

static int quiet(enum libbpf_print_level level, const char *format, va_list args)
{
	return 0;
}

/* The verifier's statistics: the lines of the log from "verification time" on, on one line. */
static void print_stats(const char *log)
{
	const char *stats = strstr(log, "verification time");

	if (!stats) {
		printf(" (no statistics in the log)\n");
		return;
	}
	for (; *stats; stats++) {
		if (*stats != '\n')
			putchar(*stats);
		else
			fputs(stats[1] ? "; " : "\n", stdout);
	}
}

int main(int argc, char **argv)
{
	char *log = malloc(LOG_SIZE);
	struct bpf_object *object;
	struct bpf_program *program;
	int count = 0, failed = 0;

	if (argc != 2 || !log) {
		fprintf(stderr, "usage: %s OBJECT.bpf.o\n", argv[0]);
		return 2;
	}
	libbpf_set_print(quiet);
	object = bpf_object__open(argv[1]);
	if (!object) {
		fprintf(stderr, "%s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	bpf_object__for_each_program(program, object)
		count++;
	bpf_object__close(object);

	for (int i = 0; i < count; i++) {
		struct bpf_program *chosen = NULL;
		struct timespec start, end;
		int index = 0, error;

		object = bpf_object__open(argv[1]);
		if (!object)
			return 1;
		bpf_object__for_each_program(program, object) {
			if (index++ == i)
				chosen = program;
			else
				bpf_program__set_autoload(program, false);
		}
		if (!strcmp(bpf_program__section_name(chosen), "uprobe.multi"))
			bpf_program__set_expected_attach_type(chosen, ATTACH_TYPE_UPROBE_SESSION);
		log[0] = '\0';
		bpf_program__set_log_buf(chosen, log, LOG_SIZE);
		bpf_program__set_log_level(chosen, 4);
		clock_gettime(CLOCK_MONOTONIC, &start);
		error = bpf_object__load(object);
		clock_gettime(CLOCK_MONOTONIC, &end);
		printf("%-24s %5zu insns, object loaded in %6.1f ms:", bpf_program__name(chosen), bpf_program__insn_cnt(chosen),
		       (end.tv_sec - start.tv_sec) * 1e3 + (end.tv_nsec - start.tv_nsec) / 1e6);
		if (error) {
			printf(" FAILED (%s)\n", strerror(-error));
			failed++;
		} else {
			putchar(' ');
			print_stats(log);
		}
		bpf_object__close(object);
	}
	free(log);
	return failed ? 1 : 0;
}
