import './globals.css';

export const metadata = { title: 'ocibuild bench', description: 'Next.js standalone app' };

export default function RootLayout({ children }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
