// Evaluated per request, so the server (not only the prerendered HTML) is exercised.
export const dynamic = "force-dynamic";

export function GET() {
  return Response.json({ hello: "from next", node: process.version });
}
