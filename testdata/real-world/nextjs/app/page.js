export default function Home() {
  return (
    <main>
      <h1>Next.js standalone, built by ocibuild</h1>
      <p>
        <img src="/logo.svg" alt="" width="32" height="32" />
      </p>
    </main>
  );
}
