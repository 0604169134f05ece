/* The smallest program: what `husk run -- true` costs beyond the program. */
int main(void)
{
	return 0;
}
