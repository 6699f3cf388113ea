import Counter from './counter';
import { posts } from './posts';

export default function Home() {
  return (
    <main>
      <h1>Posts</h1>
      {posts.map((p) => (
        <a className="card" key={p.slug} href={`/posts/${p.slug}`}>
          <h2>{p.title}</h2>
          <p>{p.summary}</p>
        </a>
      ))}
      <Counter />
    </main>
  );
}
