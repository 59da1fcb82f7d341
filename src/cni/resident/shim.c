/*
 * pontoon-cni's front door when a C compiler was available at build time.
 *
 * A pod operation pays for process start-up, and Node's is ~30 ms before a line
 * of ours runs. When the config names an "agentSocket", this ~1 ms program hands
 * the invocation to the resident server there (pontoon agent --cni-socket, or
 * pontoon cni-server), which runs the same TypeScript dispatcher with every
 * module already loaded. Otherwise, or when nobody listens, or the server serves
 * another network namespace, it execs the Node plugin beside it with the same
 * environment and stdin. It holds no CNI logic of its own.
 *
 * Wire format (protocol.ts is the other side; keep them in step):
 *   request:  "pontoon-cni/1\n" "netns:<dev>:<ino>\n" ("env:KEY=VALUE\n")* "stdin:<n>\n" <n bytes>, then EOF
 *   response: "done:<exit code>\n" <stdout bytes> EOF   |   "fallback:<reason>\n"
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

extern char **environ;

struct buf { char *p; size_t n, cap; };

static void put(struct buf *b, const void *data, size_t n) {
	if (b->n + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->n + n) cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) { perror("pontoon-cni: realloc"); exit(1); }
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, data, n);
	b->n += n;
}

static void puts_(struct buf *b, const char *s) { put(b, s, strlen(s)); }

static int read_all(int fd, struct buf *b) {
	char chunk[65536];
	for (;;) {
		ssize_t r = read(fd, chunk, sizeof chunk);
		if (r == 0) return 0;
		if (r < 0) { if (errno == EINTR) continue; return -1; }
		put(b, chunk, (size_t)r);
	}
}

static int write_all(int fd, const char *p, size_t n) {
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) { if (errno == EINTR) continue; return -1; }
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The directory this executable lives in, symlinks resolved. */
static void self_dir(char *out, size_t len) {
	ssize_t n = readlink("/proc/self/exe", out, len - 1);
	if (n <= 0) { perror("pontoon-cni: readlink /proc/self/exe"); exit(1); }
	out[n] = 0;
	char *slash = strrchr(out, '/');
	if (slash) *slash = 0;
}

/* Run the Node plugin with the stdin we already consumed, handed over in a memfd. */
static void exec_node(const struct buf *in) {
	char dir[PATH_MAX], node[PATH_MAX + 32], script[PATH_MAX + 32], cache[PATH_MAX + 32];
	self_dir(dir, sizeof dir);
	snprintf(node, sizeof node, "%s/pontoon.d/node", dir);
	snprintf(script, sizeof script, "%s/pontoon.d/pontoon-cni.mjs", dir);
	snprintf(cache, sizeof cache, "%s/pontoon.d/.compile-cache", dir);
	int fd = memfd_create("pontoon-cni-stdin", 0);
	if (fd < 0 || write_all(fd, in->p ? in->p : "", in->n) < 0 || lseek(fd, 0, SEEK_SET) < 0 || dup2(fd, 0) < 0) {
		perror("pontoon-cni: handing stdin to node");
		exit(1);
	}
	if (fd != 0) close(fd);
	setenv("NODE_COMPILE_CACHE", cache, 0);
	char *argv[] = { node, "--no-warnings", script, NULL };
	execv(node, argv);
	perror("pontoon-cni: exec node");
	exit(1);
}

/*
 * The "agentSocket" string of the config, if present and simple (an absolute
 * path with no escapes). Anything unusual means: let the Node plugin decide.
 */
static int agent_socket(const struct buf *in, char *out, size_t len) {
	static const char key[] = "\"agentSocket\"";
	if (!in->p) return -1;
	const char *p = memmem(in->p, in->n, key, sizeof key - 1);
	if (!p) return -1;
	const char *end = in->p + in->n;
	p += sizeof key - 1;
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
	if (p >= end || *p++ != ':') return -1;
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
	if (p >= end || *p++ != '"') return -1;
	size_t n = 0;
	while (p < end && *p != '"') {
		if (*p == '\\' || n + 1 >= len) return -1;
		out[n++] = *p++;
	}
	if (p >= end || n == 0 || out[0] != '/') return -1;
	out[n] = 0;
	return 0;
}

static int forwarded(const char *kv) {
	return strncmp(kv, "CNI_", 4) == 0 || strncmp(kv, "PONTOON_CNI_LOG=", 16) == 0;
}

int main(void) {
	struct buf in = {0};
	const char *cmd = getenv("CNI_COMMAND");
	if (cmd && strcmp(cmd, "VERSION") == 0) exec_node(&in);
	if (read_all(0, &in) < 0) exec_node(&in);

	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	if (agent_socket(&in, path, sizeof path) < 0) exec_node(&in);

	struct stat ns;
	if (stat("/proc/thread-self/ns/net", &ns) < 0) exec_node(&in);

	struct buf req = {0};
	char line[128];
	puts_(&req, "pontoon-cni/1\n");
	snprintf(line, sizeof line, "netns:%lu:%lu\n", (unsigned long)ns.st_dev, (unsigned long)ns.st_ino);
	puts_(&req, line);
	for (char **e = environ; *e; e++) {
		if (!forwarded(*e)) continue;
		if (strchr(*e, '\n')) exec_node(&in); /* not representable on one line */
		puts_(&req, "env:");
		puts_(&req, *e);
		puts_(&req, "\n");
	}
	snprintf(line, sizeof line, "stdin:%zu\n", in.n);
	puts_(&req, line);
	if (in.n) put(&req, in.p, in.n);

	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	memcpy(sa.sun_path, path, strlen(path) + 1); /* agent_socket() bounded it below sizeof sun_path */
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) exec_node(&in); /* nobody listening */
	/* A wedged server must not hold the runtime forever: give up as the Node client does. */
	struct timeval limit = { .tv_sec = 120 };
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);

	/* From here on the server may act: never fall back silently after a failure. */
	struct buf res = {0};
	if (write_all(s, req.p, req.n) < 0 || shutdown(s, SHUT_WR) < 0 || read_all(s, &res) < 0) goto lost;
	char *nl = res.p ? memchr(res.p, '\n', res.n) : NULL;
	if (!nl) goto lost;
	*nl = 0;
	if (strncmp(res.p, "fallback:", 9) == 0) exec_node(&in);
	if (strncmp(res.p, "done:", 5) != 0) goto lost;
	int code = atoi(res.p + 5);
	size_t head = (size_t)(nl - res.p) + 1;
	if (write_all(1, res.p + head, res.n - head) < 0) return 1;
	return code;

lost:
	printf("{\"cniVersion\":\"1.1.0\",\"code\":11,\"msg\":\"resident pontoon at %s: connection lost before an answer\"}\n", path);
	return 1;
}
