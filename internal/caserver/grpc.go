package caserver

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	capb "github.com/kastle-dev/kastle/internal/caserver/proto"
)

// grpcService implements capb.CertificateServiceServer over a Service.
type grpcService struct {
	capb.UnimplementedCertificateServiceServer
	svc    *Service
	mtls   bool
	tokens *Tokens
}

var _ capb.CertificateServiceServer = (*grpcService)(nil)

// NewGRPCServer returns a gRPC server exposing svc. With mtls the
// caller's identity is its verified client certificate's CN; otherwise a
// "authorization: Bearer <token>" metadata entry checked against tokens.
func NewGRPCServer(svc *Service, creds credentials.TransportCredentials, mtls bool, tokens *Tokens) *grpc.Server {
	s := grpc.NewServer(grpc.Creds(creds), grpc.MaxRecvMsgSize(MaxBodyBytes))
	capb.RegisterCertificateServiceServer(s, &grpcService{svc: svc, mtls: mtls, tokens: tokens})
	return s
}

// identity authenticates the caller of ctx, or returns "".
func (g *grpcService) identity(ctx context.Context) string {
	if g.mtls {
		p, ok := peer.FromContext(ctx)
		if !ok {
			return ""
		}
		ti, ok := p.AuthInfo.(credentials.TLSInfo)
		if !ok || len(ti.State.VerifiedChains) == 0 {
			return ""
		}
		return ti.State.VerifiedChains[0][0].Subject.CommonName
	}
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		if tok, ok := strings.CutPrefix(v, "Bearer "); ok {
			return g.tokens.Authenticate(tok)
		}
	}
	return ""
}

// grpcError maps service errors to gRPC codes.
func grpcError(err error) error {
	switch {
	case errors.Is(err, ErrUnauthenticated):
		return status.Error(codes.Unauthenticated, "authentication required: a client certificate or a bearer token")
	case errors.Is(err, ErrForbidden):
		return status.Error(codes.PermissionDenied, err.Error())
	case errors.Is(err, ErrBadRequest):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, ErrClosed):
		return status.Error(codes.Unavailable, "shutting down")
	}
	return status.Error(codes.Internal, "internal error")
}

// CsrTemplate returns the seed's subject template.
func (g *grpcService) CsrTemplate(context.Context, *emptypb.Empty) (*capb.CertificateSigningRequest, error) {
	t := Template()
	return &capb.CertificateSigningRequest{
		SubjectCountry: t.SubjectCountry, SubjectOrganization: t.SubjectOrganization,
		SubjectOrganizationalUnit: t.SubjectOrganizationalUnit, SubjectLocality: t.SubjectLocality,
		SubjectProvince: t.SubjectProvince, SubjectCommonName: t.SubjectCommonName, DNSNames: t.DNSNames,
		EmailAddresses: t.EmailAddresses, IPAddresses: t.IPAddresses, Profile: t.Profile,
	}, nil
}

// SignCsr issues for the subject form; the key waits for one GetKey.
func (g *grpcService) SignCsr(ctx context.Context, in *capb.CertificateSigningRequest) (*capb.SignResponse, error) {
	id := g.identity(ctx)
	out, err := g.svc.SignSubject(id, SubjectRequest{
		SubjectCountry: in.SubjectCountry, SubjectOrganization: in.SubjectOrganization,
		SubjectOrganizationalUnit: in.SubjectOrganizationalUnit, SubjectLocality: in.SubjectLocality,
		SubjectProvince: in.SubjectProvince, SubjectStreetAddress: in.SubjectStreetAddress,
		SubjectPostalCode: in.SubjectPostalCode, SubjectSerialNumber: in.SubjectSerialNumber,
		SubjectCommonName: in.SubjectCommonName, DNSNames: in.DNSNames, EmailAddresses: in.EmailAddresses,
		IPAddresses: in.IPAddresses, URIs: in.URIs, Profile: in.Profile,
	})
	if err != nil {
		return nil, grpcError(err)
	}
	g.svc.HoldKey(out.Record.ID, id, out.KeyPEM)
	return &capb.SignResponse{CertificateId: out.Record.ID}, nil
}

// GetCert returns an issued certificate.
func (g *grpcService) GetCert(ctx context.Context, in *capb.FileIdentifer) (*capb.FileStream, error) {
	rec, err := g.svc.Cert(g.identity(ctx), in.GetId())
	if err != nil {
		return nil, grpcError(err)
	}
	return &capb.FileStream{Contents: []byte(rec.CertPEM)}, nil
}

// GetKey returns a server-generated key once, to its requester.
func (g *grpcService) GetKey(ctx context.Context, in *capb.FileIdentifer) (*capb.FileStream, error) {
	id := g.identity(ctx)
	if id == "" {
		return nil, grpcError(ErrUnauthenticated)
	}
	key, err := g.svc.TakeKey(normalizeID(in.GetId()), id)
	if err != nil {
		return nil, grpcError(err)
	}
	return &capb.FileStream{Contents: key}, nil
}

// SignPemCsr signs a PKCS #10 request; the key stays with the requester.
func (g *grpcService) SignPemCsr(ctx context.Context, in *capb.PemCsrRequest) (*capb.PemCsrResponse, error) {
	out, err := g.svc.SignCSR(g.identity(ctx), in.GetProfile(), in.GetCsr())
	if err != nil {
		return nil, grpcError(err)
	}
	return &capb.PemCsrResponse{CertificateId: out.Record.ID, Certificate: out.ChainPEM}, nil
}

// Revoke revokes a certificate for the caller and returns its record.
func (g *grpcService) Revoke(ctx context.Context, in *capb.RevokeRequest) (*capb.FileStream, error) {
	rec, err := g.svc.Revoke(g.identity(ctx), in.GetId(), int(in.GetReason()))
	if err != nil {
		return nil, grpcError(err)
	}
	js, err := json.Marshal(rec)
	if err != nil {
		return nil, grpcError(err)
	}
	return &capb.FileStream{Contents: js}, nil
}

// GetCrl returns the current CRL, DER. Like /crl it needs no identity
// beyond what the transport asks for.
func (g *grpcService) GetCrl(context.Context, *emptypb.Empty) (*capb.FileStream, error) {
	der, err := g.svc.CRL()
	if err != nil {
		g.svc.Logger.Error("CRL", "err", err)
		return nil, grpcError(err)
	}
	return &capb.FileStream{Contents: der}, nil
}
