/* A small static HTTP server for the checkpoint tests: it listens on the
 * port given, answers each request with how many it has answered so far
 * (state that lives in its memory, so a restored copy shows where the
 * snapshot left it), and blocks in accept between requests. */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 8080;
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 16)) {
		perror("listen");
		return 1;
	}
	printf("listening on %d\n", port);
	fflush(stdout);
	for (unsigned long served = 1;; served++) {
		int c = accept(l, NULL, NULL);
		if (c < 0)
			continue;
		char buf[2048];
		ssize_t n = read(c, buf, sizeof(buf));
		(void)n;
		char body[64], resp[256];
		int bl = snprintf(body, sizeof(body), "request %lu\n", served);
		int rl = snprintf(resp, sizeof(resp),
				  "HTTP/1.0 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
				  bl, body);
		if (write(c, resp, (size_t)rl) < 0)
			perror("write");
		close(c);
	}
}
