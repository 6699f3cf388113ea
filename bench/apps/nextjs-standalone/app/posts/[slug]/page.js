import { notFound } from 'next/navigation';
import { posts } from '../../posts';

export function generateStaticParams() {
  return posts.map((p) => ({ slug: p.slug }));
}

export default function Post({ params }) {
  const post = posts.find((p) => p.slug === params.slug);
  if (!post) notFound();
  return (
    <article>
      <h1>{post.title}</h1>
      <p>{post.body}</p>
    </article>
  );
}
