/* pcn_cube_main: the command line and the life of a cube process. */
#include "pcn_int.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_SOCKET_DIR "/run/cubemesh"

static struct pcn__runtime *main_rt;

static void on_signal(int sig)
{
	(void)sig;
	/* Only sets a flag: the serving loop notices within its poll period. */
	pcn__signalled = 1;
}

static void usage(FILE *f, const struct pcn_cube_desc *d, const char *argv0)
{
	fprintf(f,
		"Usage: %s [OPTIONS]\n"
		"The control plane of the Cubemesh cube \"%s\"%s%s.\n"
		"It registers with pcn-broker and applies the configuration the broker sends.\n"
		"\n"
		"  --socket-dir DIR   directory of the broker's and cubes' sockets (default %s)\n"
		"  --log-level LEVEL  lowest level logged: TRACE, DEBUG, INFO, WARN, ERR, CRITICAL, OFF\n"
		"                     (default INFO)\n"
		"  --help             print this help and exit\n"
		"  --version          print the cube's version and exit\n"
		"\n"
		"On SIGTERM or SIGINT the process exits and leaves its instances' programs and maps\n"
		"pinned: the data plane keeps forwarding until the process comes back.\n",
		argv0, d->service, d->description ? ": " : "", d->description ? d->description : "",
		DEFAULT_SOCKET_DIR);
}

int pcn_cube_main(const struct pcn_cube_desc *desc, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket-dir", required_argument, NULL, 's' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *socket_dir = DEFAULT_SOCKET_DIR;
	struct sigaction sa;
	int level = PCN_LOG_INFO;
	char proc[PCN__NAME_MAX + 8];
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			socket_dir = optarg;
			break;
		case 'l':
			level = pcn_log_level_parse(optarg);
			if (level < 0) {
				fprintf(stderr, "%s: unknown log level \"%s\"\n", argv[0], optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout, desc, argv[0]);
			return 0;
		case 'V':
			printf("%s %s\n", desc->service, desc->version ? desc->version : "");
			return 0;
		default:
			usage(stderr, desc, argv[0]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument \"%s\"\n", argv[0], argv[optind]);
		usage(stderr, desc, argv[0]);
		return 2;
	}

	snprintf(proc, sizeof(proc), "pcn-%s", desc->service);
	pcn_log_init(proc, (enum pcn_log_level)level);
	pcn_log_route_libbpf();

	rc = pcn__runtime_create(&main_rt, desc, socket_dir);
	if (rc) {
		PCN_ERR("CUBE-INIT", "cannot start: %s", strerror(-rc));
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	rc = pcn__runtime_start(main_rt);
	if (rc) {
		pcn__runtime_destroy(main_rt);
		return 1;
	}
	rc = pcn__runtime_run(main_rt);
	if (rc == 0)
		PCN_INFO("CUBE-EXIT", "stopping; instances stay pinned and keep forwarding");
	pcn__runtime_destroy(main_rt);
	main_rt = NULL;
	return rc;
}
